"""An ECR pull-through cache for Docker Hub (stack keys ecrPullThroughCache + dockerHubCredentialArn).

Docker Hub limits anonymous pulls per source IP, and every GPU node behind one NAT gateway shares one IP;
pulling the vLLM image through an ECR pull-through cache rule pulls it once from Docker Hub (with the
account's credentials) and then from ECR in the cluster's region.

Sources (AWS ECR user guide):
- "Creating a pull through cache rule": Docker Hub needs credentials in a Secrets Manager secret whose name
  begins with `ecr-pullthroughcache/`, and "the account and Region that the secret is in must match the
  account and Region that the pull through cache rule is in". So the registry host is derived from the
  secret's ARN (its account, and the plan's region, which must be the secret's): a plain string known before
  any resource, and the rendered manifests stay plain text (no aws.get_caller_identity Output).
- CreatePullThroughCacheRule: upstream registry URL `registry-1.docker.io` for Docker Hub; the repository
  prefix is 2..30 characters (a trailing `/` is implied).
- "Pulling an image with a pull through cache rule": `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/
  <repository>:<tag>`; Docker Hub official images need `library/`, other repositories (vllm/vllm-openai) not.
- "IAM permissions required to sync an upstream registry": besides the pull permissions
  (AmazonEC2ContainerRegistryPullOnly on the node role), the first pull of an image needs
  `ecr:BatchImportUpstreamImage` (import the upstream image) and `ecr:CreateRepository` (the cached
  repository does not exist yet) for the principal that pulls: the node role.
"""

from __future__ import annotations

import json
import re

DOCKER_HUB_URL = "registry-1.docker.io"
CREDENTIAL_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"secret:ecr-pullthroughcache/[A-Za-z0-9/_+=.@-]+$"
)
# Actions the node role needs beyond PullOnly for the first pull through the cache (see above).
FIRST_PULL_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")


def credential_parts(arn: str) -> re.Match[str]:
    match = CREDENTIAL_ARN.match(arn)
    if match is None:
        raise ValueError(
            f"dockerHubCredentialArn: not the ARN of a Secrets Manager secret named ecr-pullthroughcache/... "
            f"(got {arn!r}); ECR requires that prefix for pull-through cache credentials: "
            "arn:aws:secretsmanager:REGION:ACCOUNT:secret:ecr-pullthroughcache/docker-hub-..."
        )
    return match


def registry_host(credential_arn: str, region: str) -> str:
    """The private registry the rule lives in: the credential's account, in the plan's region (which must
    be the secret's: ECR requires the rule and the secret in one account and Region)."""
    match = credential_parts(credential_arn)
    if match["region"] != region:
        raise ValueError(
            f"dockerHubCredentialArn: the secret is in {match['region']} but the plan deploys in {region}; "
            f"ECR needs the pull-through cache credential in the rule's Region: store a copy of the secret "
            f"in {region} (named ecr-pullthroughcache/...) and set its ARN"
        )
    suffix = ".amazonaws.com.cn" if match["partition"] == "aws-cn" else ".amazonaws.com"
    return f"{match['account']}.dkr.ecr.{region}{suffix}"


def _docker_hub_repository(image: str) -> str | None:
    """`vllm/vllm-openai:v0.11.0` -> `vllm/vllm-openai:v0.11.0`, `nginx:1` -> `library/nginx:1`, an image
    of another registry (first part with a `.` or `:`, or `localhost`) -> None. docker.io/ is Docker Hub."""
    first, _, rest = image.partition("/")
    if rest and first in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        image, first, rest = rest, *rest.partition("/")[::2]
    if rest and ("." in first or ":" in first or first == "localhost"):
        return None
    return image if rest else f"library/{image}"


def cached_image(image: str, prefix: str, credential_arn: str, region: str) -> str:
    """The image reference that pulls `image` (a Docker Hub image) through the cache rule `prefix`."""
    host = registry_host(credential_arn, region)
    repository = _docker_hub_repository(image)
    if repository is None:
        raise ValueError(
            f"ecrPullThroughCache: caches Docker Hub images, but vllmImage {image!r} is in another registry; "
            "`pulumi config rm ecrPullThroughCache` (pull it from its own registry) or use a Docker Hub image"
        )
    return f"{host}/{prefix}/{repository}"


def first_pull_policy(prefix: str, credential_arn: str, region: str) -> str:
    """Inline policy for the node role: the first-pull actions on the cached repositories only."""
    match = credential_parts(credential_arn)
    resource = f"arn:{match['partition']}:ecr:{region}:{match['account']}:repository/{prefix}/*"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(FIRST_PULL_ACTIONS), "Resource": resource},
    ]})
