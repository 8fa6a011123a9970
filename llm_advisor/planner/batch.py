"""A batch job as work (pure): hours to finish it, re-done work after spot interruptions, total cost.

A batch workload that states its volume (Workload.batch_output_tokens, optionally batch_input_tokens and
deadline_hours) is planned by what finishing it costs, not by USD per hour:

* work hours = the larger of output tokens / the fleet's output tokens/s and input tokens / its input
  tokens/s (the step-time model prices prefill of the workload's request shape, mean_input_tokens per
  mean_output_tokens, so the fleet processes input at output rate x input/output);
* spot re-done work: the Spot Advisor band's monthly interruption rate p (pricing.economics: midpoint of
  the band, 25 % for >20 % or unknown) is the share of instances interrupted in a month "whatever their
  lifetime" (pricing.economics' docstring), so an instance living H <= 730 hours is interrupted with
  probability p over the job: each interruption costs RECOVERY_MINUTES of paid time without output
  (replacement launch, weight load, re-done in-flight work; AWS gives a two-minute notice, EC2 User
  Guide "Spot Instance interruption notices"), and a replica spanning n nodes stalls when any is hit:
  expected wall hours = work hours + p x n x recovery (x the fleet's spot share). A job longer than a
  month loses the same share every 730 hours: work / (1 - p x n x recovery / 730);
* total cost = billed USD/h x wall hours (spot lost time is billed too);
* deadline: the sized fleet is run in k copies side by side (batch work splits across replicas), the
  fewest whose wall hours meet the deadline.
"""

from __future__ import annotations

import math

from pricing.economics import HOURS_PER_MONTH, RECOVERY_MINUTES, interruption_rate_per_month


def work_hours(
    output_tokens: int, input_tokens: int | None, output_tokens_per_s: float, input_per_output: float
) -> float:
    """Hours of useful work for the volume at the fleet's rate (output and input, whichever binds)."""
    if output_tokens_per_s <= 0:
        return math.inf
    out_h = output_tokens / output_tokens_per_s / 3600
    in_h = (input_tokens or 0) / (output_tokens_per_s * input_per_output) / 3600 if input_per_output else 0.0
    return max(out_h, in_h)


def lost_hours_per_interruption_share(band: int | None, instances_per_replica: int) -> float:
    """Expected hours lost over a job of at most a month, per unit of spot share: p x n x recovery."""
    p = interruption_rate_per_month(band) / 100
    return p * instances_per_replica * RECOVERY_MINUTES / 60


def wall_hours(work: float, lost: float) -> float:
    """Expected wall-clock hours for `work` hours when interruptions lose `lost` hours per month-long life."""
    if work + lost <= HOURS_PER_MONTH:
        return work + lost
    share = lost / HOURS_PER_MONTH
    return work / (1 - share) if share < 1 else math.inf


def fleets_for_deadline(work_one: float, lost: float, deadline: float | None) -> int | None:
    """The fewest copies k of the fleet with wall_hours(work_one / k, lost) <= deadline; None when the
    interruption loss alone exceeds the deadline."""
    if deadline is None:
        return 1
    if lost >= deadline:
        return None
    k = max(1, math.ceil(work_one / (deadline - lost) - 1e-9))
    while wall_hours(work_one / k, lost) > deadline:  # only past a month of work
        k += 1
    return k
