"""The fake Kubernetes API moved to tests/fake_kube.py, shared with the kubectl plugin tests."""

from tests.fake_kube import FakeKube, FakeKubeState

__all__ = ["FakeKube", "FakeKubeState"]
