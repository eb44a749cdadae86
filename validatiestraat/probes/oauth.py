"""OAuth probes on the DVA's authorization server (medmij-protocol.md §1.3-1.4, §1.7)."""
