"""networks: create, connect, containers list, disconnect, remove."""

import random

import docker

from e2e import IMAGE, check, client, name

c = client()
subnet = f"10.{random.randint(128, 255)}.{random.randint(0, 255)}.0/24"
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
net = c.networks.create(name("sdknet"), driver="bridge", ipam=ipam, labels={"e2e": "sdk"})
check(net.name == name("sdknet"), net.name)
check(net.attrs["IPAM"]["Config"][0]["Subnet"] == subnet, net.attrs["IPAM"])
check(any(n.id == net.id for n in c.networks.list(names=[name("sdknet")])), "list by name")

box2 = c.containers.create(IMAGE, ["sleep", "1000"], name=name("member2"))
try:
    net.connect(box2, aliases=["sdk-alias"])
    box2.start()
    net.reload()
    check([x.id for x in net.containers] == [box2.id], net.containers)
    box2.reload()
    settings = box2.attrs["NetworkSettings"]["Networks"][name("sdknet")]
    check("sdk-alias" in (settings.get("Aliases") or []), settings)
    check(settings["IPAddress"].startswith(subnet.rsplit(".", 1)[0]), settings)
    net.disconnect(box2)
    net.reload()
    check(net.containers == [], net.containers)
finally:
    box2.remove(force=True)
net.remove()
try:
    c.networks.get(name("sdknet"))
    check(False, "the removed network is still there")
except docker.errors.NotFound:
    pass
print("ok")
