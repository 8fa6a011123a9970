"""HfTokenSecret: the Hugging Face token from Pulumi secret config into AWS Secrets Manager.

The token only ever travels as a secret Output (encrypted in state, masked in logs); consumers get the
secret's ARN and read the value at boot (EC2 instance role) or at apply time (Kubernetes Secret).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


class HfTokenSecret(pulumi.ComponentResource):
    """A Secrets Manager secret holding the token, and an IAM policy document that reads only it."""

    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, token: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-advisor:secrets:HfTokenSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name_prefix=f"{name}-",
            description="Hugging Face token for vLLM model downloads (set by llm-advisor)",
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-version",
            secret_id=secret.id,
            # pulumi.Output.secret keeps the value encrypted even if the caller passed a plain string.
            secret_string=pulumi.Output.secret(token),
            opts=child,
        )
        self.arn = secret.arn
        self.name = secret.name
        self.register_outputs({"arn": self.arn, "name": self.name})

    def read_policy(self) -> pulumi.Output[str]:
        """IAM policy JSON allowing GetSecretValue on this secret only."""
        return self.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": arn}
                    ],
                }
            )
        )
