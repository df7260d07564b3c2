package tls

import (
	"context"
	"time"

	"mipo/modules/scanners/scannersapi"
)

// StalePin is a scanner provisioned while another self-signed certificate was served: it
// holds that certificate's pin. It keeps working only while that key is served, or when its
// host's roots trust the certificate served now.
type StalePin struct {
	ScannerID    string    `json:"scanner_id"`
	Name         string    `json:"name"`
	Pin          string    `json:"pin" doc:"The pin the scanner was given."`
	RegisteredAt time.Time `json:"registered_at"`
}

// StalePins answers the scanner page's question.
type StalePins struct {
	CurrentPin string     `json:"current_pin" doc:"The pin of the certificate served now; empty when it is not self-signed (scanners then need no pin)."`
	Items      []StalePin `json:"items"`
}

type pinSpan struct {
	since      time.Time
	pin        string
	selfSigned bool
}

// stalePins compares each scanner's pin — the one served when it registered — with the one
// served now. Self-signed certificates re-signed for a new FQDN keep their key and pin, so
// only a real key change makes a scanner stale.
func (s *Service) stalePins(ctx context.Context) (StalePins, error) {
	db := s.m.ConfigDB
	rows, err := db.Query(ctx, `SELECT created_at, pin, source = 'self-signed', active FROM tls_certificates ORDER BY created_at`)
	if err != nil {
		return StalePins{}, err
	}
	var spans []pinSpan
	out := StalePins{Items: []StalePin{}}
	current := pinSpan{}
	for rows.Next() {
		var sp pinSpan
		var active bool
		if err := rows.Scan(&sp.since, &sp.pin, &sp.selfSigned, &active); err != nil {
			rows.Close()
			return out, err
		}
		spans = append(spans, sp)
		if active {
			current = sp
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	if current.selfSigned {
		out.CurrentPin = current.pin
	}
	regs, err := scannersapi.Registrations(ctx, db)
	if err != nil {
		return out, err
	}
	for _, r := range regs {
		given := pinAt(spans, r.RegisteredAt)
		if given.selfSigned && given.pin != current.pin {
			out.Items = append(out.Items, StalePin{ScannerID: r.ID, Name: r.Name, Pin: given.pin, RegisteredAt: r.RegisteredAt})
		}
	}
	return out, nil
}

// pinAt is the certificate served at t: the last one stored at or before it (the first one
// for scanners older than any stored certificate).
func pinAt(spans []pinSpan, t time.Time) pinSpan {
	var at pinSpan
	for i, sp := range spans {
		if i == 0 || !sp.since.After(t) {
			at = sp
		}
	}
	return at
}
