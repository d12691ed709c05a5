package testnet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
)

// childEnv marks the test binary that Main started inside a new namespace.
const childEnv = "BAYAN_TESTNET_CHILD"

// Main runs the package's tests inside the isolated test network and
// returns their exit code, for a TestMain: os.Exit(testnet.Main(m)).
//
// Inside one already (.ci/netns), the tests run as they are. Otherwise the
// test binary runs again in a network namespace of its own (as root, or in
// an unprivileged user namespace where the kernel allows it) with lo up and
// a veth pair addressed 10.77.0.1/24 and 10.77.0.2/24; the namespace ends
// with it. Where neither can be made, the tests run on the host's network
// and Require skips those that need it, saying why.
//
// Packages that use Main run one at a time, whatever go test's -p: two
// WebRTC suites at once on a small machine would starve each other.
func Main(m *testing.M) int {
	if os.Getenv(childEnv) != "" {
		if err := configure(); err != nil {
			fmt.Fprintf(os.Stderr, "testnet: setting up the test namespace: %v\n", err)
			return 2
		}
		return m.Run()
	}
	unlock, err := lockSuite()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testnet: %v\n", err)
		return 2
	}
	defer unlock()
	if Isolated() {
		return m.Run()
	}
	code, err := runInNamespace()
	if err == nil {
		return code
	}
	os.Setenv(unavailableEnv, err.Error())
	return m.Run()
}

// lockSuite waits for the machine-wide lock of the suites that use Main and
// returns its release.
func lockSuite() (func(), error) {
	path := filepath.Join(os.TempDir(), "bayan-testnet.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644) // flock needs no write access
	if err != nil {
		return nil, fmt.Errorf("open the suite lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take the suite lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// runInNamespace runs this test binary again, with the same arguments, in a
// new network namespace, and returns its exit code. The error says why no
// namespace could be made; once the child has started, there is none.
func runInNamespace() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find the test binary: %w", err)
	}
	var attempts []*syscall.SysProcAttr
	if os.Geteuid() == 0 {
		attempts = append(attempts, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	}
	// Unprivileged (or root without CAP_SYS_ADMIN, as in a container): a
	// user namespace in which this user is root, and so may make one.
	attempts = append(attempts, &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	})
	var errs []error
	for _, attr := range attempts {
		attr.Pdeathsig = syscall.SIGKILL // the namespace never outlives go test's own process
		cmd := exec.Command(exe, os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.SysProcAttr = attr
		if err := cmd.Start(); err != nil {
			errs = append(errs, err)
			continue
		}
		return waitForwardingSignals(cmd), nil
	}
	return 0, fmt.Errorf("new network namespace: %w", errors.Join(errs...))
}

// waitForwardingSignals waits for cmd and returns its exit code, passing on
// the signals go test sends (an interrupt, or a quit at its timeout).
func waitForwardingSignals(cmd *exec.Cmd) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case err := <-done:
			var exit *exec.ExitError
			switch {
			case err == nil:
				return 0
			case errors.As(err, &exit) && exit.ExitCode() > 0:
				return exit.ExitCode()
			default:
				fmt.Fprintf(os.Stderr, "testnet: the tests in the namespace: %v\n", err)
				return 1
			}
		}
	}
}

// configure brings up lo and the veth pair in the new namespace.
func configure() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	names := [2]string{"bayan0", "bayan1"}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: names[0]}, PeerName: names[1]}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add the veth pair: %w", err)
	}
	for i, name := range names {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		addr := vethAddrs[i]
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &addr}); err != nil {
			return fmt.Errorf("address %s on %s: %w", vethAddrs[i].String(), name, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("bring %s up: %w", name, err)
		}
	}
	if foreign := foreignAddrs(); len(foreign) > 0 {
		return fmt.Errorf("the namespace still has %v", foreign)
	}
	return nil
}
