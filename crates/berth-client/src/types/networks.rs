//! Networks: list/inspect (`Network`), create, connect/disconnect, and the per-container
//! endpoint settings shared with containers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Static addresses requested for an endpoint (`--ip`, `--ip6`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointIpamConfig {
    /// IPv4 address.
    #[serde(
        default,
        rename = "IPv4Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_address: Option<String>,
    /// IPv6 address.
    #[serde(
        default,
        rename = "IPv6Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_address: Option<String>,
    /// Link-local addresses.
    #[serde(
        default,
        rename = "LinkLocalIPs",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ips: Option<Vec<String>>,
}

/// A container's endpoint on one network: requested at create/connect, filled in by the
/// daemon in inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    /// Static addresses.
    #[serde(
        default,
        rename = "IPAMConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipam_config: Option<EndpointIpamConfig>,
    /// Legacy links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// `--network-alias`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Which network provides the default gateway (API 1.48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
    /// Network ID.
    #[serde(default, rename = "NetworkID", skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// Endpoint ID.
    #[serde(
        default,
        rename = "EndpointID",
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_id: Option<String>,
    /// IPv4 gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// IPv4 address.
    #[serde(default, rename = "IPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// IPv4 prefix length.
    #[serde(
        default,
        rename = "IPPrefixLen",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_prefix_len: Option<i64>,
    /// IPv6 gateway.
    #[serde(
        default,
        rename = "IPv6Gateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_gateway: Option<String>,
    /// IPv6 address.
    #[serde(
        default,
        rename = "GlobalIPv6Address",
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_address: Option<String>,
    /// IPv6 prefix length.
    #[serde(
        default,
        rename = "GlobalIPv6PrefixLen",
        skip_serializing_if = "Option::is_none"
    )]
    pub global_ipv6_prefix_len: Option<i64>,
    /// Names the embedded DNS answers for this endpoint (API 1.44).
    #[serde(default, rename = "DNSNames", skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
}

/// One address pool of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    /// CIDR subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// CIDR range containers get addresses from.
    #[serde(default, rename = "IPRange", skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// Gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Addresses the IPAM must not hand out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// A network's address management.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// IPAM driver (`default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Address pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Vec<IpamConfig>>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// A container attached to a network, in network inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkContainer {
    /// Container name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// Endpoint ID.
    #[serde(default, rename = "EndpointID", deserialize_with = "super::nullable")]
    pub endpoint_id: String,
    /// MAC address.
    #[serde(default, deserialize_with = "super::nullable")]
    pub mac_address: String,
    /// IPv4 address with prefix.
    #[serde(default, rename = "IPv4Address", deserialize_with = "super::nullable")]
    pub ipv4_address: String,
    /// IPv6 address with prefix.
    #[serde(default, rename = "IPv6Address", deserialize_with = "super::nullable")]
    pub ipv6_address: String,
}

/// `GET /networks` items and `GET /networks/{id}` (`Network`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    /// Name.
    #[serde(default, deserialize_with = "super::nullable")]
    pub name: String,
    /// ID.
    #[serde(default, rename = "Id", deserialize_with = "super::nullable")]
    pub id: String,
    /// RFC 3339 creation time.
    #[serde(default, deserialize_with = "super::nullable")]
    pub created: String,
    /// `local` or `swarm`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub scope: String,
    /// `bridge`, `host`, `null`, ...
    #[serde(default, deserialize_with = "super::nullable")]
    pub driver: String,
    /// IPv4 enabled (API 1.47).
    #[serde(
        default,
        rename = "EnableIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    /// IPv6 enabled.
    #[serde(default, rename = "EnableIPv6", deserialize_with = "super::nullable")]
    pub enable_ipv6: bool,
    /// Address management.
    #[serde(default, rename = "IPAM", deserialize_with = "super::nullable")]
    pub ipam: Ipam,
    /// No outside connectivity.
    #[serde(default, deserialize_with = "super::nullable")]
    pub internal: bool,
    /// Standalone containers may attach (swarm networks).
    #[serde(default, deserialize_with = "super::nullable")]
    pub attachable: bool,
    /// Swarm routing-mesh network.
    #[serde(default, deserialize_with = "super::nullable")]
    pub ingress: bool,
    /// Attached containers by ID (inspect only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<BTreeMap<String, NetworkContainer>>,
    /// Driver options.
    #[serde(default, deserialize_with = "super::nullable")]
    pub options: BTreeMap<String, String>,
    /// Labels.
    #[serde(default, deserialize_with = "super::nullable")]
    pub labels: BTreeMap<String, String>,
}

/// `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    /// Name.
    pub name: String,
    /// Driver (`bridge` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// `local` or `swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// No outside connectivity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// Standalone containers may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachable: Option<bool>,
    /// Swarm routing-mesh network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<bool>,
    /// Address management.
    #[serde(default, rename = "IPAM", skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// IPv4 enabled (API 1.47).
    #[serde(
        default,
        rename = "EnableIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    /// IPv6 enabled.
    #[serde(
        default,
        rename = "EnableIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv6: Option<bool>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Fail if the name exists (before API 1.44; always true since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_duplicate: Option<bool>,
}

/// The answer of `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    /// The new network's ID.
    pub id: String,
    /// A warning about the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    /// Container name or ID.
    pub container: String,
    /// Endpoint settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config: Option<EndpointSettings>,
}

/// `POST /networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    /// Container name or ID.
    pub container: String,
    /// Disconnect even if the container is not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}
