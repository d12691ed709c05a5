package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	lkauth "github.com/livekit/protocol/auth"
	"github.com/twitchtv/twirp"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/room"
)

func TestRoomServiceAPIErrorMapping(t *testing.T) {
	for _, c := range []struct {
		err  error
		want twirp.ErrorCode
	}{
		{fmt.Errorf("%w: TR_x", room.ErrTrackNotFound), twirp.NotFound},
		{fmt.Errorf("%w: cannot subscribe", room.ErrPermissionDenied), twirp.PermissionDenied},
		{fmt.Errorf("%w: bad", room.ErrBadRequest), twirp.InvalidArgument},
		{room.ErrRoomClosed, twirp.NotFound},
		{room.ErrRoomFull, twirp.ResourceExhausted},
		{twirp.NewError(twirp.FailedPrecondition, "x"), twirp.FailedPrecondition},
		{errors.New("boom"), twirp.Internal},
	} {
		var tw twirp.Error
		if !errors.As(apiError(c.err), &tw) || tw.Code() != c.want {
			t.Errorf("apiError(%v) = %v, want code %s", c.err, apiError(c.err), c.want)
		}
	}
	if apiError(nil) != nil {
		t.Error("apiError(nil) != nil")
	}
}

func TestRoomServiceAuthorize(t *testing.T) {
	ctxWith := func(g *lkauth.VideoGrant, err error) context.Context {
		a := &apiAuth{err: err}
		if err == nil {
			a.token = &auth.Verified{APIKey: "k", Grants: &lkauth.ClaimGrants{Video: g}}
		}
		return context.WithValue(context.Background(), apiAuthKey{}, a)
	}
	code := func(err error) twirp.ErrorCode {
		var tw twirp.Error
		if errors.As(err, &tw) {
			return tw.Code()
		}
		return ""
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		need grant
		room string
		want twirp.ErrorCode
	}{
		{"no auth in context", context.Background(), grantNone, "", twirp.Unauthenticated},
		{"no token", ctxWith(nil, auth.ErrNoToken), grantNone, "", twirp.Unauthenticated},
		{"bad token", ctxWith(nil, auth.ErrInvalidToken), grantList, "", twirp.Unauthenticated},
		{"no video grant", ctxWith(nil, nil), grantList, "", twirp.PermissionDenied},
		{"no video grant, none needed", ctxWith(nil, nil), grantNone, "", ""},
		{"list", ctxWith(&lkauth.VideoGrant{RoomList: true}, nil), grantList, "", ""},
		{"list without roomList", ctxWith(&lkauth.VideoGrant{RoomCreate: true, RoomAdmin: true}, nil), grantList, "", twirp.PermissionDenied},
		{"create", ctxWith(&lkauth.VideoGrant{RoomCreate: true}, nil), grantCreate, "", ""},
		{"create without roomCreate", ctxWith(&lkauth.VideoGrant{RoomList: true, RoomAdmin: true}, nil), grantCreate, "", twirp.PermissionDenied},
		{"admin", ctxWith(&lkauth.VideoGrant{RoomAdmin: true, Room: "a"}, nil), grantAdmin, "a", ""},
		{"admin of another room", ctxWith(&lkauth.VideoGrant{RoomAdmin: true, Room: "b"}, nil), grantAdmin, "a", twirp.PermissionDenied},
		{"admin of no room", ctxWith(&lkauth.VideoGrant{RoomAdmin: true}, nil), grantAdmin, "a", twirp.PermissionDenied},
		{"join is not admin", ctxWith(&lkauth.VideoGrant{RoomJoin: true, Room: "a"}, nil), grantAdmin, "a", twirp.PermissionDenied},
	} {
		if got := code(authorize(c.ctx, c.need, c.room)); got != c.want {
			t.Errorf("%s: code %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRoomServiceBearerToken(t *testing.T) {
	for h, want := range map[string]string{
		"":                "",
		"Bearer abc":      "abc",
		"bearer abc ":     "abc",
		"Basic dXNlcg==":  "",
		"Bearer":          "",
		"abc.def.ghi":     "",
		"BEARER  abc.def": "abc.def",
	} {
		r := httptest.NewRequest("POST", "/twirp/livekit.RoomService/ListRooms", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := bearerToken(r); got != want {
			t.Errorf("bearerToken(%q) = %q, want %q", h, got, want)
		}
	}
}
