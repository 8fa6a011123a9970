"""Templates: the single Jinja2 renderer of vLLM configs, Kubernetes manifests and EC2 cloud-init."""
