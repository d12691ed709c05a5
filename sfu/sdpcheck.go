package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// checkRemoteDescription refuses descriptions that pion would refuse only
// after committing the signaling state change, which would leave the
// connection unable to negotiate again: every media section needs a mid,
// ICE credentials and a DTLS fingerprint (its own or the session's), and
// its candidates must parse.
func checkRemoteDescription(raw string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return err
	}
	if len(d.MediaDescriptions) == 0 {
		return errors.New("no media sections")
	}
	has := func(m *sdp.MediaDescription, key string) bool {
		if _, ok := m.Attribute(key); ok {
			return true
		}
		_, ok := d.Attribute(key)
		return ok
	}
	for i, m := range d.MediaDescriptions {
		if _, ok := m.Attribute(sdp.AttrKeyMID); !ok {
			return fmt.Errorf("media section %d has no mid", i)
		}
		if m.MediaName.Port.Value == 0 {
			continue // a rejected section
		}
		for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
			if !has(m, key) {
				return fmt.Errorf("media section %d has no %s", i, key)
			}
		}
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				if _, err := ice.UnmarshalCandidate(a.Value); err != nil {
					return fmt.Errorf("media section %d: candidate: %w", i, err)
				}
			}
		}
	}
	return nil
}
