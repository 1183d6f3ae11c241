"""The test session's Spark Connect server: a server that cannot start is reported with its log, at once."""

from __future__ import annotations

import pytest

from tests.spark.conftest import SERVER_CONF, ConnectServer, free_port


def test_a_server_that_exits_while_starting_fails_with_its_log(tmp_path):
    """A Java heap too small to start: the start fails with the log's tail, not after the start deadline."""
    server = ConnectServer(tmp_path, free_port(), {**SERVER_CONF, "spark.driver.memory": "1k"})
    with pytest.raises(pytest.fail.Exception, match="exited while starting") as failed:
        server.start()
    assert "heap" in str(failed.value).lower()
    assert server.pid() is not None and not server.ready()
