//! SCIM 2.0 outbound connector (being written).
