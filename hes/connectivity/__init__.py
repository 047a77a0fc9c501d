"""Talking to meters: DLMS/COSEM client sessions (dlms/), and later the dial-in listener, push receiver and polling."""
