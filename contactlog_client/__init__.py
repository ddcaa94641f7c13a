"""The staff client for contactlog: talks to a contactlog server over HTTP and nothing else."""
