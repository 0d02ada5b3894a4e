"""A ClickHouse server (chdb-core, HTTP on loopback) that loads the deploy stack's users.d and config.d files.

Run as `python -m tests.deploy.clickhouse_server ROOT PORT USERS_D` with the passwords in
CLICKHOUSE_TRACKER_PASSWORD and CLICKHOUSE_GRAFANA_PASSWORD, as compose passes them to the
official image. The files under deploy/clickhouse/users.d are copied unchanged next to a users.xml
that keeps a password-less `default` user on 127.0.0.1 for the tests' own set-up; so the tracker
and Grafana users the tests connect as are exactly the ones the stack defines. The config.d files
(server settings) are copied unchanged beside config.xml.
Like tracker/clickhouse/embedded_server.py, it runs in a child process and never returns.
"""

import os
import shutil
import sys

USERS_XML = """<clickhouse>
    <profiles><default/></profiles>
    <quotas><default/></quotas>
    <users>
        <default>
            <password/>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
            <access_management>1</access_management>
        </default>
    </users>
</clickhouse>
"""


def serve(root: str, port: int, users_d: str) -> None:
    run_dir = os.path.join(root, "run")
    os.makedirs(run_dir, exist_ok=True)
    shutil.copytree(users_d, os.path.join(run_dir, "users.d"), dirs_exist_ok=True)
    # The stack's server settings (deploy/clickhouse/config.d), merged into config.xml as the image does.
    shutil.copytree(os.path.join(os.path.dirname(users_d), "config.d"), os.path.join(run_dir, "config.d"), dirs_exist_ok=True)
    with open(os.path.join(run_dir, "users.xml"), "w") as f:
        f.write(USERS_XML)
    # chdb reads config.xml from the working directory; users.d/ merges into the users.xml beside it.
    with open(os.path.join(run_dir, "config.xml"), "w") as f:
        f.write(
            "<clickhouse><listen_host>127.0.0.1</listen_host>"
            f"<http_port>{int(port)}</http_port><users_config>users.xml</users_config>"
            "<logger><level>warning</level><console>1</console></logger></clickhouse>"
        )
    os.chdir(run_dir)
    from chdb import _chdb

    _chdb.query(
        "SYSTEM START LISTEN HTTP; SELECT sum(sleepEachRow(3)) FROM numbers(1000000000) SETTINGS max_block_size=1",
        "TabSeparated",
        path=os.path.join(root, "db"),
    )


if __name__ == "__main__":
    serve(os.path.abspath(sys.argv[1]), int(sys.argv[2]), os.path.abspath(sys.argv[3]))
