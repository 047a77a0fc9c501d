"""The meter side of DLMS/COSEM, sans-IO: bytes in, events and response bytes out; no sockets here."""
