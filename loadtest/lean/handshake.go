package lean

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
)

// runDTLS makes the DTLS handshake as client, then derives the SRTP keys.
func (s *Subscriber) runDTLS(server netip.AddrPort) {
	s.dtls.setRemote(server)
	conn, err := dtls.Client(s.dtls, net.UDPAddrFromAddrPort(server), &dtls.Config{
		Certificates:           []tls.Certificate{s.cfg.Identity.Cert},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		InsecureSkipVerify:     true, // the fingerprint in the offer is what vouches for the server
	})
	if err != nil {
		s.cfg.OnFail(fmt.Errorf("subscriber DTLS: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	err = conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = conn.Close()
		if s.ctx.Err() == nil {
			s.cfg.OnFail(fmt.Errorf("subscriber DTLS handshake: %w", err))
		}
		return
	}
	if err := s.startSRTP(conn); err != nil {
		_ = conn.Close()
		s.cfg.OnFail(err)
		return
	}
	s.upOnce.Do(func() { close(s.cfg.Up) })
	// The server's SCTP association (for the rejected data channels) still
	// sends the odd record: read and drop until the subscriber closes.
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	_ = conn.Close()
}

// startSRTP derives the SRTP keys from the finished handshake.
func (s *Subscriber) startSRTP(conn *dtls.Conn) error {
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("subscriber DTLS: no SRTP profile agreed")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return errors.New("subscriber DTLS: no connection state")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, true); err != nil {
		return fmt.Errorf("subscriber SRTP keys: %w", err)
	}
	in, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
	if err != nil {
		return fmt.Errorf("subscriber SRTP: %w", err)
	}
	out, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
	if err != nil {
		return fmt.Errorf("subscriber SRTCP: %w", err)
	}
	s.srtcpOut = out
	s.srtpIn.Store(in) // publishes srtcpOut to the read loop too
	return nil
}
