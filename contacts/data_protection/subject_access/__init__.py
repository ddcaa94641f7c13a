"""Subject access requests: tracked against the legal deadline (one calendar month from
receipt, extendable by up to two more with a reason given in time), completed on record."""
