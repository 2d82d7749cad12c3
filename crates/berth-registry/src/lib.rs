//! # berth-registry (skeleton: being written)
//!
//! An OCI Distribution Specification 1.1 server in the role of Docker Hub and ECR.
#![deny(missing_docs)]
