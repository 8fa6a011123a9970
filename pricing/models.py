"""Boundary models of the pricing layer: GPU instance facts and their prices, each with its source.

Raw AWS JSON is parsed into these inside pricing/ and never leaves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from sizing.vocabulary import Frozen, PriceSource, WorkloadType


class GpuSpec(Frozen):
    """One accelerator model sold on AWS (from sizing/data/gpus.json, each row with its source)."""

    gpu_name: str = Field(description="as AWS GpuInfo reports it: H100, A10G, L4, A100 ...")
    memory_gib: float = Field(description="AWS MemoryInfo.SizeInMiB / 1024")
    memory_bandwidth_gb_s: float
    dense_bf16_tflops: float | None = Field(description="None on Turing/Volta (no BF16 tensor cores)")
    dense_fp16_tflops: float
    dense_fp8_tflops: float | None = Field(description="None below compute capability 8.9")
    fp8_support: bool
    compute_capability: float | None
    nvlink_gb_s: float = Field(description="total NVLink bandwidth per GPU, 0 for PCIe-only parts")
    architecture: str
    source: str


class InstanceType(Frozen):
    """One EC2 GPU instance type (DescribeInstanceTypes + topology table + GPU spec)."""

    instance_type: str
    family: str = Field(description="p5, g6e ... (the part before the dot)")
    gpu_name: str
    gpu_count: int = Field(description="whole GPUs; a g6f slice counts as 1 with gpu_fraction < 1")
    gpu_fraction: float = Field(default=1.0, description="g6f/gr6f fractional L4 slices: 0.125/0.25/0.5")
    gpu_memory_gib: float = Field(description="per GPU (or per slice), AWS MemoryInfo.SizeInMiB / 1024")
    vcpus: int
    memory_gib: float
    interconnect: Literal["nvlink", "pcie", "neuronlink", "none"]
    nvlink_gb_s: float
    efa_supported: bool
    efa_max_interfaces: int
    network_gbps: float
    local_nvme_gb: float
    accelerator_kind: Literal["nvidia_gpu", "aws_neuron"]
    gpu: GpuSpec | None = Field(description="None for Neuron devices")
    source: str


class InstancePrice(Frozen):
    """Prices of one instance type in one region, with where they came from and when."""

    instance_type: str
    region: str
    on_demand_usd_per_hour: float | None = Field(description="None where AWS sells no on-demand")
    spot_usd_per_hour: float | None = Field(description="min over the region's AZs (AZ IDs)")
    spot_median_usd_per_hour: float | None
    spot_usd_per_hour_by_az: dict[str, float] = Field(description="keyed by AZ ID (use1-az4)")
    interruption_band: int | None = Field(description="Spot Advisor band 0..4, None when unknown")
    interruption_frequency: str | None = Field(description="<5%, 5-10%, 10-15%, 15-20%, >20%")
    price_source: PriceSource
    prices_as_of: datetime


class Offer(Frozen):
    """An instance type that can be bought in a region, at its prices."""

    instance: InstanceType
    price: InstancePrice


class PricedCatalog(Frozen):
    """What the planner searches: every GPU offer in the requested regions."""

    offers: tuple[Offer, ...]
    regions: tuple[str, ...]
    warnings: tuple[str, ...] = Field(default=(), description="e.g. snapshot age, a region that failed")


class SpotPlacementScore(Frozen):
    """EC2 GetSpotPlacementScores: likelihood (1..10) that a spot request succeeds in a region or AZ."""

    region: str
    availability_zone_id: str | None = Field(description="set only with SingleAvailabilityZone=true")
    score: int = Field(ge=1, le=10)


class SpotComparison(Frozen):
    """Daily spot versus on-demand cost of one instance (pricing/economics.py compare_spot_ondemand)."""

    gpu_name: str
    workload_type: WorkloadType
    on_demand_daily: float = Field(description="USD per 24 h on demand")
    spot_daily: float = Field(description="USD per 24 h on spot, interruption overhead included")
    daily_savings_usd: float
    interruption_risk: Literal["low", "medium", "high"]
    recommendation: str
    # The recommendation's own figures: for realtime "on-demand base + spot burst" the all-spot figures
    # above are not what it recommends, so the mix is priced per instance-equivalent of the fleet.
    recommended_on_demand_share: float = Field(ge=0, le=1, description="on-demand share of the "
                                               "recommended capacity (0 = all spot, 1 = all on demand)")
    recommended_daily: float = Field(description="USD per 24 h per instance-equivalent of the recommended "
                                     "mix, interruption overhead of its spot part included")
    recommended_daily_savings_usd: float = Field(description="on_demand_daily - recommended_daily")

    def __getitem__(self, key: str) -> object:
        """Dict-style access kept for the original notes' callers (`result["spot_daily"]`)."""
        return getattr(self, key)

    def keys(self) -> tuple[str, ...]:
        return tuple(type(self).model_fields)


class CapacityBlockOffering(Frozen):
    """One EC2 Capacity Block for ML offering (DescribeCapacityBlockOfferings): a fixed window of
    `instance_count` instances of one type in one AZ, paid up front. Purchase is a separate, paid action
    (PurchaseCapacityBlock) that this project never takes."""

    offering_id: str = Field(description="CapacityBlockOfferingId, what PurchaseCapacityBlock takes")
    instance_type: str
    region: str
    availability_zone: str = Field(description="AZ name as this account sees it")
    instance_count: int = Field(ge=1)
    start: AwareDatetime = Field(description="StartDate, UTC")
    end: AwareDatetime = Field(description="EndDate, UTC")
    duration_hours: float = Field(gt=0, description="CapacityBlockDurationHours + Minutes / 60")
    upfront_fee_usd: float = Field(gt=0, description="UpfrontFee: the whole block, all instances")
    price_source: Literal["live", "cache"]
    fetched_at: AwareDatetime

    @property
    def usd_per_hour(self) -> float:
        """The block's effective USD/h: upfront fee / duration (all its instances together)."""
        return self.upfront_fee_usd / self.duration_hours

    @property
    def usd_per_instance_hour(self) -> float:
        return self.usd_per_hour / self.instance_count


class CapacityBlockComparison(Frozen):
    """A Capacity Block against on-demand and spot for the same instances over the same window."""

    offering: CapacityBlockOffering
    block_usd: float = Field(description="the upfront fee: what the window costs as a Capacity Block")
    on_demand_usd: float | None = Field(description="on-demand USD/h x instances x window hours; None "
                                        "where no on-demand price is known")
    spot_usd: float | None = Field(description="region's lowest spot USD/h x instances x window hours "
                                   "(interruptible: no capacity assurance); None where unknown")
    cheapest: Literal["capacity-block", "on-demand", "spot"]
    cheapest_assured: Literal["capacity-block", "on-demand"] = Field(
        description="the cheaper of the two that are not interrupted: block or on-demand")


class CapacityBlockResult(Frozen):
    """What a capacity-block look-up found, and what the reader should know about it."""

    offerings: tuple[CapacityBlockOffering, ...]
    warnings: tuple[str, ...] = ()
    nearest: tuple[CapacityBlockOffering, ...] = Field(
        default=(), description="when nothing matched the request: offerings of neighbouring sizes")
