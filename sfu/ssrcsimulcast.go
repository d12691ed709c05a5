package sfu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// SSRC-based simulcast (a=ssrc-group:SIM, as older Chrome with SDP munging
// and several native stacks publish) declares the layers of a video as
// SSRCs listed lowest first, and its packets carry no RID. pion receives
// simulcast by RID only, so such an offer is rewritten into the RID form
// before pion sees it (rids q, h, f in SIM order, the MID, RID and repaired
// RID header extensions added where missing), the SSRCs are remembered, and
// the first packets of each are tagged with the MID and RID pion probes for
// (simulcastTagger). The answer goes back without what was added, so the
// client sees an answer to the offer it made.

// simulcastRIDs names the layers of a SIM group, lowest first, one letter
// each, as LiveKit clients name them.
const simulcastRIDs = "qhf"

// simStream says what one SSRC of a SIM group is: a layer (rid) or its RTX
// repair stream (repair set), in the media section mid.
type simStream struct {
	mid    string
	rid    string
	repair bool
}

// simTable is what the rewrite of one offer learned: the extension IDs
// the tags use and every SSRC of every SIM group. It is never modified once
// built (the tagger swaps tables).
type simTable struct {
	midID, ridID, rsidID uint8
	streams              map[uint32]simStream
	// added are the extmap URIs the rewrite introduced, by mid, to be
	// taken out of the answer again.
	added map[string][]string
}

// rewriteSSRCSimulcast returns raw with each SSRC-simulcast video section
// put in RID form, and the table of its streams; table is nil (and raw
// returned as is) when raw has no such section.
func rewriteSSRCSimulcast(raw string) (string, *simTable, error) {
	if !strings.Contains(raw, "ssrc-group:SIM") {
		return raw, nil, nil // the common case costs one scan
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return raw, nil, err
	}
	tbl := &simTable{streams: map[uint32]simStream{}, added: map[string][]string{}}
	ids := extmapIDs(&d)
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		if _, ok := m.Attribute("rid"); ok {
			continue // already RID-based
		}
		sim, rtx, msid := simGroup(m)
		if len(sim) < 2 {
			continue
		}
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		if len(sim) > len(simulcastRIDs) {
			sim = sim[:len(simulcastRIDs)]
		}
		rids := make([]string, len(sim))
		for i := range rids {
			rids[i] = simulcastRIDs[i : i+1]
		}
		for i, ssrc := range sim {
			tbl.streams[ssrc] = simStream{mid: mid, rid: rids[i]}
			if r, ok := rtx[ssrc]; ok {
				tbl.streams[r] = simStream{mid: mid, rid: rids[i], repair: true}
			}
		}
		// pion takes the track's ids from a=msid; older clients give them
		// only on the ssrc lines dropped below.
		kept := m.Attributes[:0]
		hasMsid := false
		for _, a := range m.Attributes {
			switch {
			case a.Key == sdp.AttrKeySSRC, a.Key == sdp.AttrKeySSRCGroup:
				continue
			case a.Key == sdp.AttrKeyMsid:
				hasMsid = true
			}
			kept = append(kept, a)
		}
		m.Attributes = kept
		if !hasMsid && msid != "" {
			m.WithValueAttribute(sdp.AttrKeyMsid, msid)
		}
		for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
			id, present := ids.lookup(m, uri)
			if id == 0 {
				return raw, nil, fmt.Errorf("sfu: SSRC simulcast: no free header extension id for %s", uri)
			}
			if !present {
				m.WithValueAttribute("extmap", strconv.Itoa(int(id))+" "+uri)
				tbl.added[mid] = append(tbl.added[mid], uri)
			}
			switch uri {
			case sdp.SDESMidURI:
				tbl.midID = id
			case sdp.SDESRTPStreamIDURI:
				tbl.ridID = id
			default:
				tbl.rsidID = id
			}
		}
		for _, rid := range rids {
			m.WithValueAttribute("rid", rid+" send")
		}
		m.WithValueAttribute("simulcast", "send "+strings.Join(rids, ";"))
	}
	if len(tbl.streams) == 0 {
		return raw, nil, nil
	}
	out, err := d.Marshal()
	if err != nil {
		return raw, nil, err
	}
	return string(out), tbl, nil
}

// simGroup returns the SSRCs of m's SIM group in order, the RTX SSRC of
// each (from FID groups) and an msid value found on its ssrc lines.
func simGroup(m *sdp.MediaDescription) (sim []uint32, rtx map[uint32]uint32, msid string) {
	rtx = map[uint32]uint32{}
	for _, a := range m.Attributes {
		switch a.Key {
		case sdp.AttrKeySSRCGroup:
			f := strings.Fields(a.Value)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "SIM":
				sim = sim[:0]
				for _, s := range f[1:] {
					if v, err := strconv.ParseUint(s, 10, 32); err == nil {
						sim = append(sim, uint32(v))
					}
				}
			case sdp.SemanticTokenFlowIdentification:
				if len(f) == 3 {
					p, err1 := strconv.ParseUint(f[1], 10, 32)
					r, err2 := strconv.ParseUint(f[2], 10, 32)
					if err1 == nil && err2 == nil {
						rtx[uint32(p)] = uint32(r)
					}
				}
			}
		case sdp.AttrKeySSRC:
			if _, v, ok := strings.Cut(a.Value, " msid:"); ok && msid == "" {
				msid = v
			}
		}
	}
	return sim, rtx, msid
}

// extIDs is the header extension IDs of a whole description: in a bundle
// one ID means one URI in every section.
type extIDs struct {
	byURI map[string]uint8
	used  [15]bool
}

func extmapIDs(d *sdp.SessionDescription) *extIDs {
	e := &extIDs{byURI: map[string]uint8{}}
	for _, m := range d.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.Key != "extmap" {
				continue
			}
			var x sdp.ExtMap
			if err := x.Unmarshal("extmap:" + a.Value); err != nil || x.Value < 1 || x.Value > 14 {
				continue
			}
			e.used[x.Value] = true
			if x.URI != nil {
				e.byURI[x.URI.String()] = uint8(x.Value)
			}
		}
	}
	return e
}

// lookup returns the ID of uri and whether m already declares it; a URI
// new to the description gets the lowest free one-byte ID (0 when none is
// left).
func (e *extIDs) lookup(m *sdp.MediaDescription, uri string) (uint8, bool) {
	for _, a := range m.Attributes {
		if a.Key == "extmap" && strings.HasSuffix(a.Value, " "+uri) {
			return e.byURI[uri], e.byURI[uri] != 0
		}
	}
	if id, ok := e.byURI[uri]; ok {
		return id, false
	}
	for id := uint8(1); id <= 14; id++ {
		if !e.used[id] {
			e.used[id] = true
			e.byURI[uri] = id
			return id, false
		}
	}
	return 0, false
}

// restoreAnswer takes out of an answer the RID lines and header extensions
// that the rewrite of its offer introduced, section by section.
func (t *simTable) restoreAnswer(raw string) (string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return raw, err
	}
	for _, m := range d.MediaDescriptions {
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		if !t.converted(mid) {
			continue
		}
		kept := m.Attributes[:0]
		for _, a := range m.Attributes {
			if a.Key == "rid" || a.Key == "simulcast" {
				continue
			}
			if a.Key == "extmap" && t.addedExt(mid, a.Value) {
				continue
			}
			kept = append(kept, a)
		}
		m.Attributes = kept
	}
	out, err := d.Marshal()
	if err != nil {
		return raw, err
	}
	return string(out), nil
}

// converted reports whether the section mid was rewritten.
func (t *simTable) converted(mid string) bool {
	for _, s := range t.streams {
		if s.mid == mid {
			return true
		}
	}
	return false
}

// addedExt reports whether the extmap value (e.g. "4 urn:...") is one the
// rewrite added to section mid.
func (t *simTable) addedExt(mid, value string) bool {
	for _, uri := range t.added[mid] {
		if strings.HasSuffix(value, " "+uri) {
			return true
		}
	}
	return false
}

// merge returns a table with old's streams and t's, t winning: SSRCs of an
// earlier negotiation may still be probing.
func (t *simTable) merge(old *simTable) *simTable {
	if old == nil {
		return t
	}
	for ssrc, s := range old.streams {
		if _, ok := t.streams[ssrc]; !ok {
			t.streams[ssrc] = s
		}
	}
	return t
}
