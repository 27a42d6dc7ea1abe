"""A two-node Ray cluster on this machine (`ray.cluster_utils.Cluster`: head + 1 worker node): a sweep's
batches run on both nodes, a custom resource pins them to one node, and the rows equal a serial run.

The cluster needs its own driver, so it runs in a subprocess (this file is also that script) and the
session's local Ray runtime is left alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent


def _cluster_run(out_dir: Path) -> None:
    """Subprocess side: start the cluster, run the sweep twice, save rows and where each batch ran."""
    import ray
    from ray.cluster_utils import Cluster

    sys.path.insert(0, str(HERE))
    from conftest import build_jobs, collect

    from actors.sweep import RayExecutor

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {"sweep": 1}, "include_dashboard": False,
        "object_store_memory": 100 * 1024 * 1024})
    worker = cluster.add_node(num_cpus=1, resources={"sweep": 1, "sweep_worker": 1},
                              object_store_memory=100 * 1024 * 1024)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        jobs = build_jobs()
        # One "sweep" slot per node and two tasks in flight: the second task must go to the other node.
        spread = RayExecutor(max_in_flight=2, resources={"sweep": 1}, scheduling_strategy="SPREAD")
        spread_rows = collect(spread, jobs)
        pinned = RayExecutor(max_in_flight=2, resources={"sweep_worker": 1})
        pinned_rows = collect(pinned, jobs)
        np.savez(out_dir / "spread.npz", **{str(k): v for k, v in spread_rows.items()})
        np.savez(out_dir / "pinned.npz", **{str(k): v for k, v in pinned_rows.items()})
        (out_dir / "nodes.json").write_text(json.dumps({
            "head": cluster.head_node.node_id, "worker": worker.node_id,
            "spread": dict(spread.stats.batches_per_node), "pinned": dict(pinned.stats.batches_per_node)}))
    finally:
        ray.shutdown()
        cluster.shutdown()


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.ray
@pytest.mark.slow
def test_two_node_cluster_runs_batches_on_both_nodes_with_serial_results(serial_rows, tmp_path) -> None:
    # Arrange
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    env.pop("RAY_ADDRESS", None)

    # Act
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=180)

    # Assert
    assert proc.returncode == 0, proc.stderr[-3000:]
    nodes = json.loads((tmp_path / "nodes.json").read_text())
    assert nodes["head"] != nodes["worker"]
    assert set(nodes["spread"]) == {nodes["head"], nodes["worker"]}
    assert sum(nodes["spread"].values()) == 24 and min(nodes["spread"].values()) >= 1
    assert nodes["pinned"] == {nodes["worker"]: 24}
    expected = {str(k): v for k, v in serial_rows.items()}
    for name in ("spread.npz", "pinned.npz"):
        got = _load(tmp_path / name)
        assert got.keys() == expected.keys()
        assert all(got[k].tobytes() == expected[k].tobytes() for k in expected), name


if __name__ == "__main__":
    _cluster_run(Path(sys.argv[1]))
