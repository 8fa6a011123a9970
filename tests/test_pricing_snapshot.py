"""The bundled snapshot: specs, catalog, quirks, prices, Local Zones; snapshot mode calls no AWS API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pricing import PricingError, gpu_specs, instance_catalog, load_priced_catalog, snapshot_regions
from pricing.snapshot import SNAPSHOT_ON_DEMAND_AS_OF, interruption_band, snapshot_prices

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def no_aws(service: str, region: str) -> object:
    raise AssertionError(f"snapshot mode must not create a {service} client for {region}")


def by_type() -> dict:
    return {i.instance_type: i for i in instance_catalog()}


def test_every_spec_row_is_parsed_with_its_source() -> None:
    specs = gpu_specs()
    assert len(specs) == 16  # gpu_specs.csv rows: V100 and A100 twice (two memory sizes)
    assert all(s.source for s in specs)
    h100 = next(s for s in specs if s.gpu_name == "H100")
    assert (h100.memory_bandwidth_gb_s, h100.dense_bf16_tflops, h100.dense_fp8_tflops) == (3350, 989, 1978)
    t4 = next(s for s in specs if s.gpu_name == "T4")
    assert t4.dense_bf16_tflops is None and t4.fp8_support is False  # Turing: no BF16 tensor cores
    assert next(s for s in specs if s.gpu_name == "Trainium2").memory_gib == 96


def test_catalog_covers_the_64_types_with_quirks_applied() -> None:
    types = by_type()
    assert len(types) == 64
    assert types["p4de.24xlarge"].gpu.memory_bandwidth_gb_s == 2039  # A100 80 GB, not 1555
    assert types["p4d.24xlarge"].gpu.memory_bandwidth_gb_s == 1555
    assert types["p3dn.24xlarge"].gpu.memory_gib == 32
    assert types["p5en.48xlarge"].gpu_name == "H200"
    assert types["trn2.48xlarge"].gpu_memory_gib == 96  # Neuron docs, not NeuronInfo's 512 GiB
    g6f = types["g6f.2xlarge"]
    assert (g6f.gpu_count, g6f.gpu_fraction, g6f.gpu_memory_gib, g6f.gpu.gpu_name) == (1, 0.25, 5.59, "L4")


def test_neuron_types_are_not_gpus_and_nvlink_comes_from_the_topology_table() -> None:
    types = by_type()
    for name in ("inf2.48xlarge", "trn1.32xlarge", "trn2.48xlarge"):
        assert (types[name].accelerator_kind, types[name].gpu) == ("aws_neuron", None)
    assert (types["p5.48xlarge"].interconnect, types["p5.48xlarge"].nvlink_gb_s) == ("nvlink", 900)
    assert (types["g6e.48xlarge"].interconnect, types["g6e.48xlarge"].nvlink_gb_s) == ("pcie", 0)
    assert types["p5.48xlarge"].efa_max_interfaces == 32 and types["p5.48xlarge"].efa_supported


def test_snapshot_prices_of_p5_in_us_east_1() -> None:
    p5 = next(p for p in snapshot_prices("us-east-1") if p.instance_type == "p5.48xlarge")
    assert p5.on_demand_usd_per_hour == 55.04
    assert p5.spot_usd_per_hour == 17.6289  # min over the six AZ IDs
    assert p5.spot_median_usd_per_hour == pytest.approx((21.1543 + 25.7522) / 2)
    assert (p5.price_source, p5.prices_as_of) == ("snapshot", SNAPSHOT_ON_DEMAND_AS_OF)
    assert (p5.interruption_band, p5.interruption_frequency) == interruption_band("us-east-1", "p5.48xlarge")


def test_type_without_on_demand_keeps_its_spot_price() -> None:
    # p5e.48xlarge is sold on demand only through Capacity Blocks: the snapshot has no on-demand price.
    rows = [p for r in snapshot_regions() for p in snapshot_prices(r) if p.instance_type == "p5e.48xlarge"]
    assert rows and all(p.on_demand_usd_per_hour is None for p in rows)
    assert all(p.spot_usd_per_hour is not None for p in rows)


def test_local_zones_only_when_asked() -> None:
    plain = {p.instance_type: p for p in snapshot_prices("us-west-2")}
    with_lz = {p.instance_type: p for p in snapshot_prices("us-west-2", include_local_zones=True)}
    assert not any("lax" in az for p in plain.values() for az in p.spot_usd_per_hour_by_az)
    assert "usw2-lax1-az1" in with_lz["g4dn.12xlarge"].spot_usd_per_hour_by_az


def test_snapshot_mode_makes_no_aws_call_and_warns_with_the_age() -> None:
    catalog = load_priced_catalog(["us-east-1", "eu-west-1"], "snapshot", clients=no_aws, now=NOW)
    assert catalog.regions == ("us-east-1", "eu-west-1")
    assert {o.price.region for o in catalog.offers} == {"us-east-1", "eu-west-1"}
    assert all(o.price.price_source == "snapshot" for o in catalog.offers)
    assert len(catalog.warnings) == 1
    assert "2026-07-20 (129 days old)" in catalog.warnings[0] and "indicative" in catalog.warnings[0]


def test_unknown_region_names_the_snapshot_regions() -> None:
    with pytest.raises(PricingError, match=r"us-east-9.*snapshot has: af-south-1, .*us-west-2"):
        load_priced_catalog(["us-east-9"], "snapshot", clients=no_aws)
    with pytest.raises(PricingError, match="us-east-9"):
        load_priced_catalog(["us-east-9"], "auto", clients=no_aws)
    with pytest.raises(PricingError, match="no region given"):
        load_priced_catalog([], "snapshot")


def test_snapshot_load_is_cached_per_process() -> None:
    first = load_priced_catalog(["us-east-1"], "snapshot", now=NOW)
    second = load_priced_catalog(["us-east-1"], "snapshot", now=NOW)
    assert first.offers[0] is second.offers[0]  # parsed once, shared (frozen) models
