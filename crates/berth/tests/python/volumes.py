"""volumes: create, list, get, use, remove."""

import docker

from e2e import IMAGE, check, client, name

c = client()
vol = c.volumes.create(name("sdkvol"), labels={"e2e": "sdk"})
check(vol.name == name("sdkvol"), vol.name)
check(vol.attrs["Driver"] == "local", vol.attrs)
listed = [v.name for v in c.volumes.list(filters={"name": name("sdkvol")})]
check(listed == [name("sdkvol")], listed)
out = c.containers.run(
    IMAGE,
    ["sh", "-c", "echo kept > /v/f; cat /v/f"],
    volumes={name("sdkvol"): {"bind": "/v", "mode": "rw"}},
    remove=True,
)
check(out == b"kept\n", out)
out = c.containers.run(IMAGE, ["cat", "/v/f"], volumes=[f"{name('sdkvol')}:/v:ro"], remove=True)
check(out == b"kept\n", out)
c.volumes.get(name("sdkvol")).remove()
try:
    c.volumes.get(name("sdkvol"))
    check(False, "the removed volume is still there")
except docker.errors.NotFound:
    pass
print("ok")
