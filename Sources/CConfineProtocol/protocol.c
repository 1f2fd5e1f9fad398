/* The protocol is header-only; see include/confine_protocol.h. */
