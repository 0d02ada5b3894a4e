"""A real two-shard ClickHouse cluster on loopback: two embedded chdb-core servers.

Each server also listens on native TCP (a Distributed table talks to the other shards over it)
and knows the cluster from a remote_servers section. chdb-core runs no Keeper, so the local
tables are plain MergeTree and the migration runs the DDL on each node (TRACKER_CLUSTER_NODES).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect

CLUSTER = "two_shards"


@dataclass
class TwoShards:
    roots: list[Path]
    tcp_ports: list[int]
    servers: list[embedded.EmbeddedServer]

    def config(self, shard: int) -> str:
        shards = "".join(
            f"<shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>" for port in self.tcp_ports
        )
        return (
            f"<tcp_port>{self.tcp_ports[shard]}</tcp_port>"
            f"<remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>"
            f"<macros><shard>{shard + 1}</shard><replica>node{shard + 1}</replica></macros>"
        )

    def start(self, shard: int, http_port: int = 0) -> None:
        server = embedded.start(self.roots[shard], port=http_port, extra_config=self.config(shard))
        if shard < len(self.servers):
            self.servers[shard] = server
        else:
            self.servers.append(server)

    def stop(self, shard: int) -> None:
        self.servers[shard].stop()

    def urls(self, database: str) -> list[str]:
        return [f"{s.url}/{database}" for s in self.servers]

    def client(self, shard: int, database: str):
        return connect(Target("127.0.0.1", self.servers[shard].port, database=database))

    def settings_overrides(self, database: str) -> dict:
        """What a tracker talking to shard 1 needs (its TRACKER_* settings for this cluster)."""
        urls = self.urls(database)
        return dict(clickhouse_url=urls[0], cluster=CLUSTER, cluster_replicated=False, cluster_nodes=",".join(urls))


def start_two_shards(base: Path) -> TwoShards:
    cluster = TwoShards([base / "shard1", base / "shard2"], [embedded.free_port(), embedded.free_port()], [])
    for shard in range(2):
        cluster.start(shard)
    return cluster


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two shards for a test module (imported by the modules that use it)."""
    cluster = start_two_shards(tmp_path_factory.mktemp("cluster"))
    yield cluster
    for shard in range(2):
        cluster.stop(shard)
