"""The failure register (R8): every failure of service is on the record."""
