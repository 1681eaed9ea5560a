package lsarpc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// DSSetupSyntax is the dssetup interface's (MS-DSSP,
// 3919286a-b10c-11d0-9ba8-00c04fd92ef5 version 0.0), which Windows serves
// on \pipe\lsarpc beside LSA: DsRolerGetPrimaryDomainInformation says what
// role the machine has (impacket's machine_role.py, rpcclient
// dsroledominfo).
var DSSetupSyntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("3919286a-b10c-11d0-9ba8-00c04fd92ef5"), Major: 0}

// OpDsRolerGetPrimaryDomainInformation is its one opnum served.
const OpDsRolerGetPrimaryDomainInformation = 0

// DSROLE_PRIMARY_DOMAIN_INFO_LEVEL values and what a stand-alone server
// answers.
const (
	DsRolePrimaryDomainInfoBasic = 1
	DsRoleUpgradeStatus          = 2
	DsRoleOperationState         = 3

	DsRoleStandaloneServer = 2 // DSROLE_MACHINE_ROLE
	dsRoleOperationIdle    = 0 // DSROLE_OPERATION_STATE
	dsRoleServerUnknown    = 0 // DSROLE_SERVER_STATE
)

// DSSetupInterface returns the dssetup interface served with env.
func DSSetupInterface(env svc.Env) dcerpc.Interface {
	s := &service{env: env}
	return dcerpc.Interface{Name: "dssetup", Syntax: DSSetupSyntax, Ops: []dcerpc.Op{
		OpDsRolerGetPrimaryDomainInformation: {Name: "DsRolerGetPrimaryDomainInformation", Func: s.primaryDomainInfo},
	}}
}

// DWORD DsRolerGetPrimaryDomainInformation(handle_t, [in]
// DSROLE_PRIMARY_DOMAIN_INFO_LEVEL InfoLevel, [out,unique,switch_is(...)]
// PDSROLER_PRIMARY_DOMAIN_INFORMATION* DomainInfo): level 1, the machine's
// role (a stand-alone server), its workgroup and no DNS domain, forest or
// GUID; level 2, no upgrade in progress; level 3, no operation running.
// Other levels are ERROR_INVALID_PARAMETER (MS-DSSP 3.2.5.1). Anyone who
// has \pipe\lsarpc open may ask.
func (s *service) primaryDomainInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	level := r.Enum()
	if r.Err() != nil {
		return nil
	}
	d, snap := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceLsarpc, Op: "DsRolerGetPrimaryDomainInformation", Level: uint32(level)})
	switch {
	case !d.Allowed:
		w.UniquePtr(false)
		w.Uint32(svc.ErrAccessDenied)
		return nil
	case level < DsRolePrimaryDomainInfoBasic || level > DsRoleOperationState:
		w.UniquePtr(false)
		w.Uint32(svc.ErrInvalidParameter)
		return nil
	}
	w.UniquePtr(true)
	w.Enum(level)
	switch level {
	case DsRolePrimaryDomainInfoBasic: // DSROLER_PRIMARY_DOMAIN_INFO_BASIC
		w.Align(4)
		w.Enum(DsRoleStandaloneServer)
		w.Uint32(0) // Flags: no directory service, no domain GUID
		domain := snap.Config().Domain
		w.DeferUnique(true, func(w *ndr.Writer) { w.WString(domain) }) // DomainNameFlat
		w.UniquePtr(false)                                             // DomainNameDns
		w.UniquePtr(false)                                             // DomainForestName
		w.UUID(ndr.UUID{})                                             // DomainGuid
		w.Flush()
	case DsRoleUpgradeStatus: // DSROLE_UPGRADE_STATUS_INFO
		w.Align(4)
		w.Uint32(0) // OperationState: no upgrade
		w.Enum(dsRoleServerUnknown)
	case DsRoleOperationState: // DSROLE_OPERATION_STATE_INFO
		w.Enum(dsRoleOperationIdle)
	}
	w.Uint32(svc.ErrSuccess)
	return nil
}
