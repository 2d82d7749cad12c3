"""containers: run detached, attrs, logs, wait, stop, remove, list."""

import docker

from e2e import BRIDGE, CONFIGURED, IMAGE, check, client, name

c = client()
box = c.containers.run(
    IMAGE,
    ["sh", "-c", "echo hello; echo oops >&2; sleep 1000"],
    name=name("sdk"),
    detach=True,
    environment={"A": "1"},
    labels={"e2e.sdk": "yes"},
    network=BRIDGE,
)
box.reload()
check(box.status == "running", f"status {box.status}")
check(box.name == name("sdk"), box.name)
check(box.attrs["State"]["Running"] is True, box.attrs["State"])
check("A=1" in box.attrs["Config"]["Env"], box.attrs["Config"]["Env"])
check(box.labels.get("e2e.sdk") == "yes", box.labels)
check(box.image.tags == [IMAGE], box.image.tags)

listed = c.containers.list(filters={"label": "e2e.sdk=yes", "name": name("sdk")})
check([x.id for x in listed] == [box.id], listed)

for _ in range(100):
    if b"hello" in box.logs():
        break
    import time

    time.sleep(0.1)
check(box.logs(stdout=True, stderr=False) == b"hello\n", box.logs(stderr=False))
check(box.logs(stdout=False, stderr=True) == b"oops\n", box.logs(stdout=False))

box.stop(timeout=1)
result = box.wait(timeout=30)
check(result["StatusCode"] == 137, result)
box.reload()
check(box.status == "exited", box.status)
check(box.attrs["State"]["ExitCode"] == 137, box.attrs["State"])
box.remove()
try:
    c.containers.get(name("sdk"))
    check(False, "the removed container is still there")
except docker.errors.NotFound as e:
    check("No such container" in str(e), str(e))

# run without detach returns the output; a failing command raises ContainerError.
out = c.containers.run(CONFIGURED, remove=True)
check(out == b"configured hi\n", out)
try:
    c.containers.run(IMAGE, ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
    check(False, "exit 3 did not raise")
except docker.errors.ContainerError as e:
    check(e.exit_status == 3, e)
    check(b"bad" in e.stderr, e.stderr)

try:
    c.containers.run(IMAGE + "-nosuch", "true")
    check(False, "a missing image did not raise")
except docker.errors.ImageNotFound:
    pass
except docker.errors.APIError as e:
    # The SDK tries to pull the missing image; no registry is reachable.
    check(e.status_code in (404, 500), e)
print("ok")
