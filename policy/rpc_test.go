package policy_test

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

const rpcTestConfig = `
server_name = "SRV"
machine_sid = "S-1-5-21-1-2-3"
guest = true
%s
[LanmanServer]
NullSessionPipes = [%s]

[Lsa]
%s

[[account]]
name = "alice"
password = "x"
rid = 1001

[[account]]
name = "root"
password = "x"
rid = 1002
groups = ["Administrators"]
`

func rpcSnapshot(t *testing.T, nullPipes, lsa string) *policy.Snapshot {
	t.Helper()
	text := strings.Replace(rpcTestConfig, "%s", "", 1)
	text = strings.Replace(text, "%s", nullPipes, 1)
	text = strings.Replace(text, "%s", lsa, 1)
	return testserver.Snapshot(t, text, "rpc.toml")
}

var (
	anon  = policy.Identity{Kind: policy.Anonymous}
	guest = policy.Identity{Kind: policy.Guest, User: "nobody"}
	alice = policy.Identity{Kind: policy.User, User: "alice"}
	root  = policy.Identity{Kind: policy.User, User: "root"}
)

// TestCheckRPC is SEMANTICS-2 4.7's table (identity × call under the
// defaults of a member server, the pipe open) plus the switches.
func TestCheckRPC(t *testing.T) {
	all := `"srvsvc", "wkssvc", "lsarpc", "samr"`
	for _, tc := range []struct {
		name     string
		null     string
		lsa      string
		id       policy.Identity
		iface    string
		op       string
		level    uint32
		pipeOpen bool
		rule     string
		status   ntstatus.Status
	}{
		// Gate 0: the pipe.
		{"anonymous srvsvc pipe", "", "", anon, "srvsvc", "NetrShareEnum", 1, false, policy.RuleNullSessionPipes, ntstatus.AccessDenied},
		{"alice srvsvc pipe", "", "", alice, "srvsvc", "NetrShareEnum", 1, false, policy.RuleGranted, 0},
		// srvsvc.
		{"anonymous share enum RA=0", all, "", anon, "srvsvc", "NetrShareEnum", 1, true, policy.RuleGranted, 0},
		{"anonymous share enum RA=1", all, "RestrictAnonymous = 1", anon, "srvsvc", "NetrShareEnum", 1, true, policy.RuleRestrictAnonymous, ntstatus.AccessDenied},
		{"anonymous share enum 501", all, "", anon, "srvsvc", "NetrShareEnum", 501, true, policy.RuleAnonymousLevel, ntstatus.AccessDenied},
		{"anonymous sticky enum 501", all, "", anon, "srvsvc", "NetrShareEnumSticky", 501, true, policy.RuleGranted, 0}, // the service answers ERROR_INVALID_LEVEL
		{"anonymous server info RA=1", all, "RestrictAnonymous = 1", anon, "srvsvc", "NetrServerGetInfo", 101, true, policy.RuleGranted, 0},
		{"anonymous server info RA=2", all, "RestrictAnonymous = 2", anon, "srvsvc", "NetrServerGetInfo", 101, true, policy.RuleRestrictAnonymous, ntstatus.AccessDenied},
		{"alice share enum 1", "", "", alice, "srvsvc", "NetrShareEnum", 1, true, policy.RuleGranted, 0},
		{"alice share enum 2", "", "", alice, "srvsvc", "NetrShareEnum", 2, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"guest share enum 502", "", "", guest, "srvsvc", "NetrShareEnumSticky", 502, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"alice share enum 501", "", "", alice, "srvsvc", "NetrShareEnum", 501, true, policy.RuleGranted, 0},
		{"root share enum 502", "", "", root, "srvsvc", "NetrShareEnum", 502, true, policy.RuleGranted, 0},
		{"alice share info 502", "", "", alice, "srvsvc", "NetrShareGetInfo", 502, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"alice server info 102", "", "", alice, "srvsvc", "NetrServerGetInfo", 102, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"root server info 102", "", "", root, "srvsvc", "NetrServerGetInfo", 102, true, policy.RuleGranted, 0},
		{"alice TOD", "", "", alice, "srvsvc", "NetrRemoteTOD", 0, true, policy.RuleGranted, 0},
		{"alice session enum", "", "", alice, "srvsvc", "NetrSessionEnum", 0, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		// wkssvc.
		{"alice wksta 100", "", "", alice, "wkssvc", "NetrWkstaGetInfo", 100, true, policy.RuleGranted, 0},
		{"alice wksta 102", "", "", alice, "wkssvc", "NetrWkstaGetInfo", 102, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"root wksta 102", "", "", root, "wkssvc", "NetrWkstaGetInfo", 102, true, policy.RuleGranted, 0},
		{"alice wksta users", "", "", alice, "wkssvc", "NetrWkstaUserEnum", 1, true, policy.RuleAdminOnly, ntstatus.AccessDenied},
		{"root wksta users", "", "", root, "wkssvc", "NetrWkstaUserEnum", 1, true, policy.RuleGranted, 0},
		// SAMR's password policy needs no handle: RestrictRemoteSAM and
		// RestrictAnonymousSAM (connects) do not apply; RestrictAnonymous
		// = 2 does.
		{"alice domain password info", "", "", alice, "samr", "SamrGetDomainPasswordInformation", 0, true, policy.RuleGranted, 0},
		{"anonymous domain password info", all, "", anon, "samr", "GetDomainPasswordInformation", 0, true, policy.RuleGranted, 0},
		{"anonymous domain password info RA=2", all, "RestrictAnonymous = 2", anon, "samr", "GetDomainPasswordInformation", 0, true, policy.RuleRestrictAnonymous, ntstatus.AccessDenied},
		// lsarpc.
		{"anonymous open policy", all, "", anon, "lsarpc", "LsarOpenPolicy2", 0, true, policy.RuleLsaAnonymousBlock, ntstatus.AccessDenied},
		{"anonymous open policy unblocked", all, "TurnOffAnonymousBlock = 1", anon, "lsarpc", "LsarOpenPolicy2", 0, true, policy.RuleGranted, 0},
		{"anonymous lookup unblocked", all, "TurnOffAnonymousBlock = 1", anon, "lsarpc", "LookupSids", 0, true, policy.RuleGranted, 0},
		{"anonymous query audit unblocked", all, "TurnOffAnonymousBlock = 1", anon, "lsarpc", "QueryInformationPolicy", 2, true, policy.RuleObjectAccess, ntstatus.AccessDenied},
		{"alice lookup", "", "", alice, "lsarpc", "LookupNames", 0, true, policy.RuleGranted, 0},
		{"alice query 5", "", "", alice, "lsarpc", "LsarQueryInformationPolicy2", 5, true, policy.RuleGranted, 0},
		{"alice query audit", "", "", alice, "lsarpc", "LsarQueryInformationPolicy", 2, true, policy.RuleObjectAccess, ntstatus.AccessDenied},
		{"root query audit", "", "", root, "lsarpc", "LsarQueryInformationPolicy", 2, true, policy.RuleGranted, 0},
		// PolicyAuditFullQueryInformation is class 11 (audit rights);
		// 10, PolicyAuditFullSetInformation, is no query class: the
		// service answers STATUS_INVALID_PARAMETER to all.
		{"alice query audit full", "", "", alice, "lsarpc", "LsarQueryInformationPolicy", 11, true, policy.RuleObjectAccess, ntstatus.AccessDenied},
		{"alice query audit full set", "", "", alice, "lsarpc", "LsarQueryInformationPolicy", 10, true, policy.RuleGranted, 0},
		{"anonymous getusername", all, "", anon, "lsarpc", "GetUserName", 0, true, policy.RuleGranted, 0},
		{"alice lookupsids3", "", "", alice, "lsarpc", "LookupSids3", 0, true, policy.RuleTransport, ntstatus.AccessDenied},
		// samr.
		{"anonymous connect", all, "", anon, "samr", "SamrConnect5", 0, true, policy.RuleRestrictAnonymousSAM, ntstatus.AccessDenied},
		{"anonymous connect RA=1", all, "RestrictAnonymousSAM = 0\nRestrictAnonymous = 1", anon, "samr", "Connect2", 0, true, policy.RuleRestrictAnonymousSAM, ntstatus.AccessDenied},
		{"anonymous connect open", all, "RestrictAnonymousSAM = 0\nRestrictRemoteSAM = \"\"", anon, "samr", "Connect", 0, true, policy.RuleObjectAccess, ntstatus.AccessDenied},
		{"anonymous connect everyone", all, "RestrictAnonymousSAM = 0\nRestrictRemoteSAM = \"\"\nEveryoneIncludesAnonymous = 1", anon, "samr", "Connect", 0, true, policy.RuleGranted, 0},
		{"guest connect", "", "", guest, "samr", "SamrConnect5", 0, true, policy.RuleRestrictRemoteSAM, ntstatus.AccessDenied},
		{"alice connect", "", "", alice, "samr", "SamrConnect5", 0, true, policy.RuleRestrictRemoteSAM, ntstatus.AccessDenied},
		{"alice connect unrestricted", "", `RestrictRemoteSAM = ""`, alice, "samr", "SamrConnect5", 0, true, policy.RuleGranted, 0},
		{"alice connect listed", "", `RestrictRemoteSAM = "O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;S-1-5-21-1-2-3-1001)"`, alice, "samr", "SamrConnect5", 0, true, policy.RuleGranted, 0},
		{"root connect", "", "", root, "samr", "SamrConnect5", 0, true, policy.RuleGranted, 0},
		{"alice enum users", "", "", alice, "samr", "EnumerateUsersInDomain", 0, true, policy.RuleRestrictRemoteSAM, ntstatus.AccessDenied},
		{"unknown call", "", "", alice, "samr", "Nope", 0, true, policy.RuleUnknownCall, ntstatus.InvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := rpcSnapshot(t, tc.null, tc.lsa)
			r := policy.RPCRequest{Identity: tc.id, Interface: tc.iface, Op: tc.op, Level: tc.level, PipeOpen: tc.pipeOpen,
				Access: 0x02000000}
			d := snap.CheckRPC(r)
			if d.Rule != tc.rule || d.Status != tc.status || d.Allowed != (tc.rule == policy.RuleGranted) {
				t.Errorf("CheckRPC: rule %q status %v allowed %v, want %q %v", d.Rule, d.Status, d.Allowed, tc.rule, tc.status)
			}
			e := snap.DecideRPC(r)
			if e.Rule != d.Rule || e.Status != d.Status || e.Allowed != d.Allowed || e.Reason != d.Why() {
				t.Errorf("DecideRPC differs from CheckRPC: %q %v %q vs %q %v %q", e.Rule, e.Status, e.Reason, d.Rule, d.Status, d.Why())
			}
			if !e.Allowed && e.Rule != policy.RuleUnknownCall && e.Rule != policy.RuleTransport && len(e.Fixes) == 0 {
				t.Errorf("denied without a fix: %+v", e)
			}
			if len(e.Steps) == 0 {
				t.Errorf("DecideRPC without steps")
			}
		})
	}
}

// TestRPCFixes: each fix DecideRPC proposes, applied, grants.
func TestRPCFixesChain(t *testing.T) {
	snap := rpcSnapshot(t, "", "")
	d := snap.DecideRPC(policy.RPCRequest{Identity: anon, Interface: "samr", Op: "EnumerateUsersInDomain"})
	if d.Allowed || d.Rule != policy.RuleNullSessionPipes || len(d.Fixes) != 4 {
		t.Fatalf("anonymous samr enumeration: %q, fixes %q", d.Rule, d.Fixes)
	}
	applied := rpcSnapshot(t, `"samr"`, "RestrictAnonymousSAM = 0\nRestrictRemoteSAM = \"O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;AN)\"\nEveryoneIncludesAnonymous = 1")
	if d := applied.DecideRPC(policy.RPCRequest{Identity: anon, Interface: "samr", Op: "EnumerateUsersInDomain"}); !d.Allowed {
		t.Errorf("with the fixes applied: %q %s", d.Rule, d.Reason)
	}
}

func TestLsaKeysValidated(t *testing.T) {
	for _, lsa := range []string{"RestrictAnonymous = 3", "RestrictAnonymousSAM = 2", "TurnOffAnonymousBlock = -1", `RestrictRemoteSAM = "D:(A;;XX;;;BA)"`} {
		text := strings.NewReplacer("%s", "").Replace(rpcTestConfig)
		text = strings.Replace(text, "[Lsa]\n", "[Lsa]\n"+lsa+"\n", 1)
		if _, err := policy.Parse([]byte(text), "rpc.toml"); err == nil {
			t.Errorf("%s: accepted", lsa)
		}
	}
	if _, err := policy.Parse([]byte("services = [\"spoolss\"]\n"), "rpc.toml"); err == nil || !strings.Contains(err.Error(), "services[0]") {
		t.Errorf("unknown service: %v", err)
	}
}

func TestServicePipes(t *testing.T) {
	snap := rpcSnapshot(t, "", "")
	for _, p := range []string{"srvsvc", "wkssvc", "lsarpc", "lsass", "samr"} {
		b, ok := snap.Backend(p)
		if !ok || !b.RPC() {
			t.Errorf("pipe %s: %+v %v", p, b, ok)
		}
	}
	cfg, err := policy.Parse([]byte("services = [\"srvsvc\"]\n[[pipe]]\nname = \"srvsvc\"\nbackend = \"echo\"\n"), "x.toml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := policy.Compile(cfg)
	if b, _ := s.Backend("srvsvc"); b.Kind != "echo" {
		t.Errorf("a [[pipe]] does not replace the service: %+v", b)
	}
	if _, ok := s.Backend("samr"); ok {
		t.Errorf("samr served although services omits it")
	}
}
