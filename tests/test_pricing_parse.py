"""Pure parsers of pricing/parse.py on the recorded AWS payloads of tests/fixtures/aws/."""

from __future__ import annotations

import json
import statistics

import pytest

from pricing import PricingError
from pricing.parse import (
    parse_instance_type,
    parse_instance_types,
    parse_offerings,
    parse_on_demand_price,
    parse_placement_scores,
    parse_spot_prices,
)
from pricing.snapshot import is_local_zone
from tests.conftest import load_payload


def price_item(instance_type: str, usd: str) -> str:
    """The recorded p5 PriceList entry with another type and price (same AWS shape)."""
    product = json.loads(load_payload("pricing_get_products_p5.json")["PriceList"][0])
    product["product"]["attributes"]["instanceType"] = instance_type
    for term in product["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = usd
    return json.dumps(product)


def test_on_demand_price_of_the_recorded_p5_payload() -> None:
    # PriceList entries are JSON strings; 55.0400000000 USD/h is the p5.48xlarge us-east-1 list price.
    assert parse_on_demand_price(load_payload("pricing_get_products_p5.json")["PriceList"], "p5.48xlarge",
                                 "us-east-1") == 55.04


def test_on_demand_price_of_the_verbatim_botocore_example_reads_the_usd_string() -> None:
    # The AWS-documented example is an EBS product without instanceType: the USD string still parses.
    assert parse_on_demand_price(load_payload("pricing_get_products_botocore_example.json")["PriceList"],
                                 "any", "ca-central-1") == 0.138


def test_same_price_twice_is_fine_but_two_prices_are_refused_loudly() -> None:
    assert parse_on_demand_price([price_item("g5.xlarge", "1.0060000000")] * 2, "g5.xlarge",
                                 "us-east-1") == 1.006
    with pytest.raises(PricingError, match=r"ambiguous on-demand price for g5.xlarge.*1.006.*1.5"):
        parse_on_demand_price([price_item("g5.xlarge", "1.0060000000"), price_item("g5.xlarge", "1.5")],
                              "g5.xlarge", "us-east-1")


def test_no_price_list_entry_means_no_on_demand_price() -> None:
    assert parse_on_demand_price([], "p5e.48xlarge", "us-east-1") is None
    # A zero-dollar dimension is never a real price, and other types' entries are ignored.
    entries = [price_item("p5e.48xlarge", "0.0000000000"), price_item("p5.48xlarge", "55")]
    assert parse_on_demand_price(entries, "p5e.48xlarge", "us-east-1") is None


def test_spot_history_keyed_by_az_id_with_min_and_median() -> None:
    history = load_payload("describe_spot_price_history_g5_p5_us-east-1.json")["SpotPriceHistory"]
    spot = parse_spot_prices(history)
    p5 = spot["p5.48xlarge"]
    assert set(p5) == {f"use1-az{i}" for i in range(1, 7)}
    assert min(p5.values()) == 17.6289
    # median of 17.6289, 19.2531, 21.1543, 25.7522, 55.04, 55.04 = (21.1543 + 25.7522) / 2
    assert statistics.median(p5.values()) == pytest.approx(23.45325)
    assert spot["g5.xlarge"] == {"use1-az1": 0.4507, "use1-az2": 0.4246, "use1-az4": 0.436,
                                 "use1-az5": 0.4259, "use1-az6": 0.4364}


def test_spot_history_keeps_the_latest_price_per_az_and_maps_names_to_ids() -> None:
    # The verbatim botocore example has AZ names only (us-west-1a/c, 2014): the account's map gives IDs.
    items = load_payload("describe_spot_price_history_botocore_example.json")["SpotPriceHistory"]
    newer = dict(items[0], SpotPrice="0.090000", Timestamp="2014-01-06T05:00:00.000Z")
    spot = parse_spot_prices([*items, newer], az_ids={"us-west-1a": "usw1-az1", "us-west-1c": "usw1-az3"})
    assert spot == {"m1.xlarge": {"usw1-az1": 0.09, "usw1-az3": 0.08}}


def test_spot_history_leaves_local_zones_out_unless_asked() -> None:
    item = {"AvailabilityZoneId": "usw2-lax1-az1", "InstanceType": "g5.xlarge", "SpotPrice": "0.5",
            "Timestamp": "2026-07-01T00:00:00Z"}
    assert parse_spot_prices([item]) == {}
    assert parse_spot_prices([item], include_local_zones=True) == {"g5.xlarge": {"usw2-lax1-az1": 0.5}}


@pytest.mark.parametrize(("az_id", "local"), [("use1-az4", False), ("usw2-lax1-az1", True),
                                              ("use1-atl2-az1", True), ("usw2-wl1-bos-wlz1", True)])
def test_local_zone_ids_have_an_extra_segment(az_id: str, local: bool) -> None:
    assert is_local_zone(az_id) is local


def test_placement_scores_best_first() -> None:
    scores = parse_placement_scores(load_payload("get_spot_placement_scores_p5.json")["SpotPlacementScores"])
    assert [(s.availability_zone_id, s.score) for s in scores] == [
        ("use1-az6", 7), ("use1-az2", 5), ("usw2-az2", 4), ("use2-az1", 3), ("use1-az1", 1)]


def test_offerings_by_az_id() -> None:
    items = [{"InstanceType": "p5.48xlarge", "LocationType": "availability-zone-id", "Location": z}
             for z in ("use1-az6", "use1-az2", "usw2-lax1-az1")]
    assert parse_offerings(items) == {"p5.48xlarge": frozenset({"use1-az6", "use1-az2"})}
    assert len(parse_offerings(items, include_local_zones=True)["p5.48xlarge"]) == 3


def gpu_item(instance_type: str, name: str, count: int, mib: int, **extra: object) -> dict:
    item = {
        "InstanceType": instance_type, "VCpuInfo": {"DefaultVCpus": 192},
        "MemoryInfo": {"SizeInMiB": 2097152},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "GpuInfo": {"Gpus": [{"Name": name, "Manufacturer": "NVIDIA", "Count": count,
                              "MemoryInfo": {"SizeInMiB": mib}}]},
        "NetworkInfo": {"EfaSupported": True, "EfaInfo": {"MaximumEfaInterfaces": 16},
                        "NetworkPerformance": "3200 Gigabit",
                        "NetworkCards": [{"BaselineBandwidthInGbps": 200.0}] * 16},
        "InstanceStorageInfo": {"TotalSizeInGB": 30400},
    }
    item.update(extra)
    return item


def test_p5en_reported_as_nvidia_is_an_h200() -> None:
    parsed = parse_instance_type(gpu_item("p5en.48xlarge", "NVIDIA", 8, 144384))
    assert parsed is not None
    assert (parsed.gpu_name, parsed.gpu_count, parsed.gpu_memory_gib) == ("H200", 8, 141.0)
    assert parsed.gpu is not None and parsed.gpu.memory_bandwidth_gb_s == 4800
    assert (parsed.network_gbps, parsed.efa_max_interfaces, parsed.local_nvme_gb) == (3200, 16, 30400)
    assert parsed.interconnect == "nvlink" and parsed.nvlink_gb_s == 900


def test_p4de_is_the_80_gb_a100_and_p3dn_the_32_gb_v100() -> None:
    p4de = parse_instance_type(gpu_item("p4de.24xlarge", "A100", 8, 40960))
    p3dn = parse_instance_type(gpu_item("p3dn.24xlarge", "V100", 8, 16384))
    assert p4de is not None and p4de.gpu_memory_gib == 80 and p4de.gpu is not None
    assert p4de.gpu.memory_bandwidth_gb_s == 2039  # A100 80 GB SXM4, not the 40 GB part's 1555
    assert p3dn is not None and p3dn.gpu_memory_gib == 32 and p3dn.gpu is not None
    assert p3dn.gpu.memory_gib == 32


def test_g6f_slice_counts_as_one_fractional_l4() -> None:
    item = gpu_item("g6f.large", "L4", 0, 2861)
    item["GpuInfo"]["Gpus"][0]["GpuPartitionSize"] = 0.125
    parsed = parse_instance_type(item)
    assert parsed is not None
    assert (parsed.gpu_count, parsed.gpu_fraction, parsed.gpu_memory_gib) == (1, 0.125, 2.79)
    assert parsed.gpu is not None and parsed.gpu.gpu_name == "L4"
    # Without GpuPartitionSize the slice share comes from memory: 11444 / 22888 MiB = 1/2.
    half = parse_instance_type(gpu_item("gr6f.4xlarge", "L4", 0, 11444))
    assert half is not None and half.gpu_fraction == 0.5


def test_an_unlisted_partitioned_gpu_is_still_fractional() -> None:
    item = gpu_item("g9f.xlarge", "L4", 0, 5722)
    item["GpuInfo"]["Gpus"][0]["GpuPartitionSize"] = 0.25
    parsed = parse_instance_type(item)
    assert parsed is not None and (parsed.gpu_count, parsed.gpu_fraction) == (1, 0.25)
    assert parsed.interconnect == "pcie" and "assumed" in parsed.source  # not in the topology table


def test_non_nvidia_arm_and_cpu_types_are_not_offers() -> None:
    amd = gpu_item("g4ad.xlarge", "Radeon Pro V520", 1, 8192)
    amd["GpuInfo"]["Gpus"][0]["Manufacturer"] = "AMD"
    arm = gpu_item("g5g.xlarge", "T4g", 1, 16384, ProcessorInfo={"SupportedArchitectures": ["arm64"]})
    cpu = {"InstanceType": "m7i.large", "VCpuInfo": {"DefaultVCpus": 2}, "MemoryInfo": {"SizeInMiB": 8192}}
    assert parse_instance_types([amd, arm, cpu]) == ()


def test_neuron_devices_are_listed_but_not_as_gpus() -> None:
    item = {"InstanceType": "inf2.xlarge", "VCpuInfo": {"DefaultVCpus": 4},
            "MemoryInfo": {"SizeInMiB": 16384},
            "NeuronInfo": {"NeuronDevices": [{"Name": "Inferentia2", "Count": 1,
                                              "MemoryInfo": {"SizeInMiB": 32768}}]},
            "NetworkInfo": {"NetworkPerformance": "Up to 15 Gigabit"}}
    parsed = parse_instance_type(item)
    assert parsed is not None
    assert (parsed.accelerator_kind, parsed.gpu, parsed.gpu_memory_gib) == ("aws_neuron", None, 32.0)
    assert parsed.network_gbps == 15  # no NetworkCards: the NetworkPerformance figure


def test_spot_history_prefers_the_vpc_entry_of_an_az_over_the_classic_one() -> None:
    # An account that had EC2-Classic sees both descriptions; the plain one was the Classic price there.
    # The verbatim botocore example is such a "(Amazon VPC)" answer (us-west-1, 2014).
    vpc = load_payload("describe_spot_price_history_botocore_example.json")["SpotPriceHistory"][0]
    classic = dict(vpc, ProductDescription="Linux/UNIX", SpotPrice="0.050000",
                   Timestamp="2014-01-06T05:00:00Z")  # newer, but Classic
    other_az = dict(classic, AvailabilityZone="us-west-1c")  # only the plain entry: a VPC-only account
    az_ids = {"us-west-1a": "usw1-az1", "us-west-1c": "usw1-az3"}
    spot = parse_spot_prices([classic, vpc, other_az], az_ids=az_ids)
    assert spot == {"m1.xlarge": {"usw1-az1": 0.08, "usw1-az3": 0.05}}


def test_multi_gpu_memory_reported_as_the_instance_total_is_divided() -> None:
    # aws/aws-cli#8970: g6e.12xlarge answered Count 4, SizeInMiB 183105 (the 4 x 45776 total).
    g6e = parse_instance_type(gpu_item("g6e.12xlarge", "L40S", 4, 183105))
    assert g6e is not None and (g6e.gpu_count, g6e.gpu_memory_gib) == (4, 44.7)
    assert g6e.gpu is not None and g6e.gpu.gpu_name == "L40S"
    # A per-GPU size that is a known size of that GPU is left alone (8 x H100 80 GB).
    p5 = parse_instance_type(gpu_item("p5.48xlarge", "H100", 8, 81920))
    assert p5 is not None and p5.gpu_memory_gib == 80


def test_every_quirk_row_says_how_it_is_known() -> None:
    from pricing.quirks import QUIRKS

    assert {q.family for q in QUIRKS} == {"p5en", "p4de", "p3dn", "g6f", "gr6f", "trn2"}
    for quirk in QUIRKS:
        assert quirk.reason and quirk.source and quirk.evidence in ("verified", "defensive")
    assert {q.family for q in QUIRKS if q.evidence == "defensive"} == {"p4de", "p3dn"}


# Pricing third review #6: a Neuron device the spec table does not list is still Neuron (from NeuronInfo).
def test_inf1_from_neuron_info_is_neuron_though_not_in_the_spec_table() -> None:
    item = {"InstanceType": "inf1.xlarge", "VCpuInfo": {"DefaultVCpus": 4}, "MemoryInfo": {"SizeInMiB": 8192},
            "NeuronInfo": {"NeuronDevices": [{"Name": "Inferentia", "Count": 1,
                                              "MemoryInfo": {"SizeInMiB": 8192}}]},
            "NetworkInfo": {"NetworkPerformance": "Up to 25 Gigabit"}}
    parsed = parse_instance_type(item)
    assert parsed is not None
    assert (parsed.gpu_name, parsed.accelerator_kind, parsed.gpu) == ("Inferentia", "aws_neuron", None)
