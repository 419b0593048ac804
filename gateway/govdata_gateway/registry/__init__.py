"""The identity registry the gateway owns: departments, application systems, machine clients and people."""
