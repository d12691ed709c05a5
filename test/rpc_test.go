package test

import (
	"strings"
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
)

// LiveKit RPC between two SDK participants goes through the node: the
// request reaches the method registered by its destination (and only it),
// and the response comes back to the caller. Also what the reported
// ServerInfo.version must allow (livekit-client refuses RPC below 1.8.0).
func TestSDKRPCRoundTrip(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	callee := testserver.Join(t, srv, testserver.Token(t, "rpc", "callee", nil), nil)
	bystander := testserver.Join(t, srv, testserver.Token(t, "rpc", "bystander", nil), nil)
	calls := make(chan lksdk.RpcInvocationData, 4)
	wrong := make(chan string, 4)
	if err := callee.RegisterRpcMethod("shout", func(d lksdk.RpcInvocationData) (string, error) {
		calls <- d
		return strings.ToUpper(d.Payload), nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := bystander.RegisterRpcMethod("shout", func(d lksdk.RpcInvocationData) (string, error) {
		wrong <- d.CallerIdentity
		return "", nil
	}); err != nil {
		t.Fatal(err)
	}
	caller := testserver.Join(t, srv, testserver.Token(t, "rpc", "caller", nil), nil)

	got, err := caller.LocalParticipant.PerformRpc(lksdk.PerformRpcParams{
		DestinationIdentity: "callee", Method: "shout", Payload: "hello",
	})
	if err != nil {
		t.Fatalf("rpc: %v", err)
	}
	if got == nil || *got != "HELLO" {
		t.Fatalf("rpc answered %v, want HELLO", got)
	}
	select {
	case d := <-calls:
		if d.CallerIdentity != "caller" || d.Payload != "hello" {
			t.Errorf("the callee saw %+v", d)
		}
	default:
		t.Error("the callee's method did not run")
	}
	select {
	case who := <-wrong:
		t.Errorf("the bystander's method ran for %s", who)
	default:
	}
}
