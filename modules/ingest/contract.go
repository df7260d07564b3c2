package ingest

import "mipo/modules/ingest/ingestapi"

// The ingest module's side of its contract (ingestapi): the shared type under its old name
// here, and the call other modules make, filled in with this package's function.

type Node = ingestapi.Node

func init() { ingestapi.Nodes = Nodes }
