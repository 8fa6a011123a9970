"""Infra: Pulumi ComponentResources (EKS node groups, EC2 launch template + ASG, secrets)."""
