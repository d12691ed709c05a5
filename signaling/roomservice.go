package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	lkauth "github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/room"
)

// Limits of the RoomService API, LiveKit's defaults.
const (
	// maxMetadataSize bounds room and participant metadata, and the
	// attributes of one UpdateParticipant call.
	maxMetadataSize = 64000
	// maxAPIBody bounds a request body.
	maxAPIBody = 1 << 20
	// maxDataPacketSize bounds an encoded SendData packet; it must fit in a
	// data channel message.
	maxDataPacketSize = 64 << 10
)

// RoomService serves LiveKit's Twirp RoomService at
// /twirp/livekit.RoomService/*, in protobuf and JSON. Every call carries an
// "Authorization: Bearer <jwt>" header whose grants are checked the way
// LiveKit checks them: roomCreate for CreateRoom and DeleteRoom, roomList for
// ListRooms, roomAdmin for the token's own room for everything else.
type RoomService struct {
	keys         *auth.Keys
	rooms        *room.Manager
	log          *slog.Logger
	remoteUnmute bool
	handler      livekit.TwirpServer
}

// RoomServiceOption adjusts a RoomService.
type RoomServiceOption func(*RoomService)

// WithRemoteUnmute lets MutePublishedTrack unmute a participant's track. It
// is off by default, as in LiveKit (room.enable_remote_unmute): an admin
// may silence anyone but not open someone's microphone or camera.
func WithRemoteUnmute(allow bool) RoomServiceOption {
	return func(s *RoomService) { s.remoteUnmute = allow }
}

// WithRoomServiceLog sets the logger for internal errors.
func WithRoomServiceLog(log *slog.Logger) RoomServiceOption {
	return func(s *RoomService) { s.log = log }
}

// NewRoomService returns the RoomService API over rooms; tokens are
// verified with keys.
func NewRoomService(keys *auth.Keys, rooms *room.Manager, opts ...RoomServiceOption) *RoomService {
	s := &RoomService{keys: keys, rooms: rooms, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	hooks := &twirp.ServerHooks{
		Error: func(ctx context.Context, err twirp.Error) context.Context {
			if err.Code() == twirp.Internal {
				method, _ := twirp.MethodName(ctx)
				s.log.Error("room service", "method", method, "err", err)
			}
			return ctx
		},
	}
	s.handler = livekit.NewRoomServiceServer(roomServiceImpl{s}, twirp.WithServerHooks(hooks))
	return s
}

// Register adds the RoomService routes to mux.
func (s *RoomService) Register(mux *http.ServeMux) {
	mux.Handle(s.handler.PathPrefix(), s)
}

// ServeHTTP verifies the request's token, puts the outcome in the request's
// context for the methods to check, and hands the request to Twirp.
func (s *RoomService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, err := s.keys.Verify(bearerToken(r))
	ctx := context.WithValue(r.Context(), apiAuthKey{}, &apiAuth{token: tok, err: err})
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
	s.handler.ServeHTTP(w, r.WithContext(ctx))
}

// bearerToken reads the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	return ""
}

type apiAuthKey struct{}

type apiAuth struct {
	token *auth.Verified
	err   error
}

// grant is what a method needs from the token.
type grant int

const (
	grantNone   grant = iota // a valid token only
	grantCreate              // roomCreate
	grantList                // roomList
	grantAdmin               // roomAdmin for the request's room
)

// authorize checks the verified token in ctx against what a method needs.
func authorize(ctx context.Context, need grant, roomName string) error {
	a, _ := ctx.Value(apiAuthKey{}).(*apiAuth)
	if a == nil || a.token == nil {
		msg := "missing access token"
		if a != nil && a.err != nil && !errors.Is(a.err, auth.ErrNoToken) {
			msg = a.err.Error()
		}
		return twirp.NewError(twirp.Unauthenticated, msg)
	}
	v := a.token.Grants.Video
	if v == nil {
		v = &lkauth.VideoGrant{}
	}
	switch need {
	case grantCreate:
		if !v.RoomCreate {
			return twirp.NewError(twirp.PermissionDenied, "token lacks the roomCreate grant")
		}
	case grantList:
		if !v.RoomList {
			return twirp.NewError(twirp.PermissionDenied, "token lacks the roomList grant")
		}
	case grantAdmin:
		if !v.RoomAdmin {
			return twirp.NewError(twirp.PermissionDenied, "token lacks the roomAdmin grant")
		}
		if v.Room != roomName {
			return twirp.NewError(twirp.PermissionDenied, "token's roomAdmin grant is for another room")
		}
	}
	return nil
}

// apiError maps an error of the room package to a Twirp error.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var tw twirp.Error
	switch {
	case errors.As(err, &tw):
		return tw
	case errors.Is(err, room.ErrTrackNotFound):
		return twirp.NewError(twirp.NotFound, err.Error())
	case errors.Is(err, room.ErrPermissionDenied):
		return twirp.NewError(twirp.PermissionDenied, err.Error())
	case errors.Is(err, room.ErrBadRequest):
		return twirp.NewError(twirp.InvalidArgument, err.Error())
	case errors.Is(err, room.ErrRoomClosed):
		return twirp.NewError(twirp.NotFound, err.Error())
	case errors.Is(err, room.ErrRoomFull):
		return twirp.NewError(twirp.ResourceExhausted, err.Error())
	}
	return twirp.InternalErrorWith(err)
}

func required(name, value string) error {
	if value == "" {
		return twirp.RequiredArgumentError(name)
	}
	return nil
}

func tooLong(name string, n int) error {
	if n > maxMetadataSize {
		return twirp.InvalidArgumentError(name, fmt.Sprintf("exceeds %d bytes", maxMetadataSize))
	}
	return nil
}

// roomServiceImpl implements livekit.RoomService; it is kept apart from
// RoomService so that the Twirp methods are not part of Bayan's API.
type roomServiceImpl struct{ s *RoomService }

var _ livekit.RoomService = roomServiceImpl{}

func (x roomServiceImpl) room(name string) (*room.Room, error) {
	if err := required("room", name); err != nil {
		return nil, err
	}
	r := x.s.rooms.Room(name)
	if r == nil {
		return nil, twirp.NotFoundError("room not found")
	}
	return r, nil
}

// participant looks up a participant for a request naming room and identity.
func (x roomServiceImpl) participant(roomName, identity string) (*room.Room, *room.Participant, error) {
	if err := required("room", roomName); err != nil {
		return nil, nil, err
	}
	if err := required("identity", identity); err != nil {
		return nil, nil, err
	}
	r, err := x.room(roomName)
	if err != nil {
		return nil, nil, err
	}
	p := r.Participant(identity)
	if p == nil {
		return nil, nil, twirp.NotFoundError("participant not found")
	}
	return r, p, nil
}

func (x roomServiceImpl) CreateRoom(ctx context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	if err := authorize(ctx, grantCreate, ""); err != nil {
		return nil, err
	}
	if err := required("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := tooLong("metadata", len(req.GetMetadata())); err != nil {
		return nil, err
	}
	r, _ := x.s.rooms.Create(&livekit.CreateRoomRequest{
		Name:             req.GetName(),
		EmptyTimeout:     req.GetEmptyTimeout(),
		DepartureTimeout: req.GetDepartureTimeout(),
		MaxParticipants:  req.GetMaxParticipants(),
		Metadata:         req.GetMetadata(),
	})
	return r.Info(), nil
}

func (x roomServiceImpl) ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	if err := authorize(ctx, grantList, ""); err != nil {
		return nil, err
	}
	out := &livekit.ListRoomsResponse{}
	if len(req.GetNames()) == 0 {
		for _, r := range x.s.rooms.Rooms() {
			out.Rooms = append(out.Rooms, r.Info())
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, name := range req.GetNames() {
		if seen[name] {
			continue
		}
		seen[name] = true
		if r := x.s.rooms.Room(name); r != nil {
			out.Rooms = append(out.Rooms, r.Info())
		}
	}
	return out, nil
}

func (x roomServiceImpl) DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	if err := authorize(ctx, grantCreate, ""); err != nil {
		return nil, err
	}
	if err := required("room", req.GetRoom()); err != nil {
		return nil, err
	}
	if !x.s.rooms.Delete(req.GetRoom()) {
		return nil, twirp.NotFoundError("room not found")
	}
	return &livekit.DeleteRoomResponse{}, nil
}

func (x roomServiceImpl) ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	if err := required("room", req.GetRoom()); err != nil {
		return nil, err
	}
	// As in LiveKit, a room that does not exist (yet) has nobody in it.
	out := &livekit.ListParticipantsResponse{}
	r := x.s.rooms.Room(req.GetRoom())
	if r == nil {
		return out, nil
	}
	for _, p := range r.Participants() {
		out.Participants = append(out.Participants, p.Info())
	}
	return out, nil
}

func (x roomServiceImpl) GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	_, p, err := x.participant(req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	return p.Info(), nil
}

func (x roomServiceImpl) RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	r, _, err := x.participant(req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	if !r.RemoveParticipant(req.GetIdentity(), livekit.DisconnectReason_PARTICIPANT_REMOVED) {
		return nil, twirp.NotFoundError("participant not found")
	}
	return &livekit.RemoveParticipantResponse{}, nil
}

func (x roomServiceImpl) MutePublishedTrack(ctx context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	if err := required("track_sid", req.GetTrackSid()); err != nil {
		return nil, err
	}
	_, p, err := x.participant(req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	if !req.GetMuted() && !x.s.remoteUnmute {
		return nil, twirp.NewError(twirp.FailedPrecondition, "remote unmute not enabled")
	}
	if err := p.SetTrackMuted(req.GetTrackSid(), req.GetMuted(), true); err != nil {
		return nil, apiError(err)
	}
	track := &livekit.TrackInfo{Sid: req.GetTrackSid(), Muted: req.GetMuted()}
	if pt := p.PublishedTrack(req.GetTrackSid()); pt != nil {
		track = pt.Info()
	}
	return &livekit.MuteRoomTrackResponse{Track: track}, nil
}

func (x roomServiceImpl) UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	if err := tooLong("metadata", len(req.GetMetadata())); err != nil {
		return nil, err
	}
	attrSize := 0
	for k, v := range req.GetAttributes() {
		attrSize += len(k) + len(v)
	}
	if err := tooLong("attributes", attrSize); err != nil {
		return nil, err
	}
	if err := tooLong("name", len(req.GetName())); err != nil {
		return nil, err
	}
	_, p, err := x.participant(req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	// As in LiveKit, an empty name or metadata leaves it as it is, and a
	// permission, when given, replaces the participant's.
	var name, md *string
	if n := req.GetName(); n != "" {
		name = &n
	}
	if m := req.GetMetadata(); m != "" {
		md = &m
	}
	var perm *livekit.ParticipantPermission
	if req.GetPermission() != nil {
		perm = proto.Clone(req.GetPermission()).(*livekit.ParticipantPermission)
	}
	p.UpdateInfo(name, md, req.GetAttributes(), perm)
	return p.Info(), nil
}

func (x roomServiceImpl) UpdateSubscriptions(ctx context.Context, req *livekit.UpdateSubscriptionsRequest) (*livekit.UpdateSubscriptionsResponse, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	_, p, err := x.participant(req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	if err := p.UpdateSubscription(&livekit.UpdateSubscription{
		TrackSids:         req.GetTrackSids(),
		ParticipantTracks: req.GetParticipantTracks(),
		Subscribe:         req.GetSubscribe(),
	}); err != nil {
		return nil, apiError(err)
	}
	return &livekit.UpdateSubscriptionsResponse{}, nil
}

func (x roomServiceImpl) SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	r, err := x.room(req.GetRoom())
	if err != nil {
		return nil, err
	}
	kind := req.GetKind()
	if kind != livekit.DataPacket_RELIABLE && kind != livekit.DataPacket_LOSSY {
		return nil, twirp.InvalidArgumentError("kind", "must be RELIABLE or LOSSY")
	}
	// Room.SendData addresses identities: resolve the deprecated sids. When
	// the request names recipients, none of whom is here, nobody gets it
	// (rather than everybody).
	dest := append([]string(nil), req.GetDestinationIdentities()...)
	for _, sid := range req.GetDestinationSids() {
		if p := r.ParticipantBySID(sid); p != nil {
			dest = append(dest, p.Identity())
		}
	}
	named := len(req.GetDestinationIdentities()) > 0 || len(req.GetDestinationSids()) > 0
	if named && len(dest) == 0 {
		return &livekit.SendDataResponse{}, nil
	}
	pkt := &livekit.DataPacket{
		Kind:                  kind,
		DestinationIdentities: dest,
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
			Payload: req.GetData(),
			Topic:   req.Topic,
			Nonce:   req.GetNonce(),
		}},
	}
	if proto.Size(pkt) > maxDataPacketSize {
		return nil, twirp.InvalidArgumentError("data", fmt.Sprintf("exceeds %d bytes", maxDataPacketSize))
	}
	r.SendData(nil, pkt, kind)
	return &livekit.SendDataResponse{}, nil
}

func (x roomServiceImpl) UpdateRoomMetadata(ctx context.Context, req *livekit.UpdateRoomMetadataRequest) (*livekit.Room, error) {
	if err := authorize(ctx, grantAdmin, req.GetRoom()); err != nil {
		return nil, err
	}
	if err := tooLong("metadata", len(req.GetMetadata())); err != nil {
		return nil, err
	}
	r, err := x.room(req.GetRoom())
	if err != nil {
		return nil, err
	}
	return r.UpdateMetadata(req.GetMetadata()), nil
}

func (x roomServiceImpl) ForwardParticipant(ctx context.Context, _ *livekit.ForwardParticipantRequest) (*livekit.ForwardParticipantResponse, error) {
	if err := authorize(ctx, grantNone, ""); err != nil {
		return nil, err
	}
	return nil, twirp.NewError(twirp.Unimplemented, "ForwardParticipant is not supported by Bayan")
}

func (x roomServiceImpl) MoveParticipant(ctx context.Context, _ *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error) {
	if err := authorize(ctx, grantNone, ""); err != nil {
		return nil, err
	}
	return nil, twirp.NewError(twirp.Unimplemented, "MoveParticipant is not supported by Bayan")
}

func (x roomServiceImpl) PerformRpc(ctx context.Context, _ *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	if err := authorize(ctx, grantNone, ""); err != nil {
		return nil, err
	}
	return nil, twirp.NewError(twirp.Unimplemented, "PerformRpc is not supported by Bayan")
}
