"""The Kubernetes API server double; see ../kube_double.py."""
