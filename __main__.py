"""Pulumi composition root: stack config -> Workload -> priced catalog -> Plan -> rendered configs ->
GPU node groups (EKS) or Auto Scaling group (EC2) -> stack outputs.

Config is validated (infra/config.py) before pricing, planning or any resource; `pricing: snapshot`
(or a fresh cache) keeps `pulumi preview` offline.
"""

import pulumi

import pricing
from llm_advisor import planner
from llm_advisor.infra.config import HF_TOKEN_KEY, PLAINTEXT_HF_TOKEN_WARNING, PROJECT, stack_config_from
from llm_advisor.infra.stack import deploy
from llm_advisor.planner.options import use_spelling

config = pulumi.Config()
stack_config = stack_config_from(config.get)
catalog = pricing.load_priced_catalog(stack_config.regions, pricing=stack_config.pricing)
for warning in catalog.warnings:
    pulumi.log.warn(warning)
# The deployed type is kept unless the best plan saves more than churnThreshold: price noise does not
# replace node groups on `pulumi up`.
options = stack_config.plan_options()
with use_spelling("stack"):  # the planner's messages name maxModelLen, not --max-model-len
    plan = planner.make_plan(
        stack_config.to_workload(), catalog,
        previous_instance_type=options.previous_instance_type, churn_threshold=options.churn_threshold,
    )
# The plan carries its node shape (vCPUs/RAM of the priced types): deploy sizes the pods' requests from it.
# An Output marked secret, or None when unset or empty (public models set the declared secret key to "").
hf_token = config.get_secret(HF_TOKEN_KEY) if pulumi.runtime.get_config(f"{PROJECT}:{HF_TOKEN_KEY}") else None
if hf_token is not None and not pulumi.runtime.is_config_secret(f"{PROJECT}:{HF_TOKEN_KEY}"):
    pulumi.log.warn(PLAINTEXT_HF_TOKEN_WARNING)
for key, value in deploy(plan, stack_config, hf_token).items():
    pulumi.export(key, value)
