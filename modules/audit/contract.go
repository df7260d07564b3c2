package audit

import "mipo/modules/audit/auditapi"

// The audit module's own code names the contract's types and outcomes as its own.
type (
	Entry            = auditapi.Entry
	Actor            = auditapi.Actor
	FieldChange      = auditapi.FieldChange
	AuditRecord      = auditapi.AuditRecord
	Head             = auditapi.Head
	Chain            = auditapi.Chain
	CheckpointRecord = auditapi.CheckpointRecord
	Verification     = auditapi.Verification
)

const (
	Success = auditapi.Success
	Failure = auditapi.Failure
)

// init fills in the calls the contract promises the other modules.
func init() {
	auditapi.Record = Record
	auditapi.RecordNow = RecordNow
	auditapi.ReadHead = ReadHead
	auditapi.Touching = Touching
	auditapi.Verify = Verify
	auditapi.LatestCheckpoint = LatestCheckpoint
}
