"""Child-process entry point: serve the ClickHouse HTTP interface from the chdb-core wheel.

Run as `python -m tracker.clickhouse.embedded_server DATA_DIR PORT PORT_FILE [EXTRA_CONFIG]`;
EXTRA_CONFIG is a file of more config.xml elements (a cluster test adds <tcp_port>, <remote_servers>
and <macros>: a Distributed table talks to the other servers over the native TCP protocol). It never returns: the
last statement only keeps the query (and so the listener) alive until the process is killed.
Kept in its own module so the parent never imports chdb: a listener in a process that runs other
chdb queries breaks them, and the import alone costs ~1 s.
"""

import os
import sys


def serve(data_dir: str, port: int, port_file: str, extra_config: str = "") -> None:
    run_dir = os.path.join(data_dir, "run")
    os.makedirs(run_dir, exist_ok=True)
    # chdb reads config.xml from the working directory when the query starts.
    with open(os.path.join(run_dir, "config.xml"), "w") as f:
        f.write(
            "<clickhouse><listen_host>127.0.0.1</listen_host>"
            f"<http_port>{int(port)}</http_port>"
            "<logger><level>warning</level><console>1</console></logger>"
            f"{extra_config}</clickhouse>"
        )
    os.chdir(run_dir)
    from chdb import _chdb

    listen = "SYSTEM START LISTEN HTTP;" + (" SYSTEM START LISTEN TCP;" if "<tcp_port>" in extra_config else "")
    _chdb.query(
        listen +
        f" INSERT INTO FUNCTION file('{port_file}', 'TSV', 'p UInt16') SELECT getServerPort('http_port')"
        " SETTINGS engine_file_truncate_on_insert=1;"
        " SELECT sum(sleepEachRow(3)) FROM numbers(1000000000) SETTINGS max_block_size=1",
        "TabSeparated",
        path=os.path.join(data_dir, "db"),
    )


if __name__ == "__main__":
    extra = open(sys.argv[4]).read() if len(sys.argv) > 4 else ""
    serve(os.path.abspath(sys.argv[1]), int(sys.argv[2]), os.path.abspath(sys.argv[3]), extra)
