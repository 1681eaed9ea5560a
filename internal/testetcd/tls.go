package testetcd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

// TLSFiles are the PEM files of a member started with StartTLS: the CA
// that signed both certificates, and a client certificate (CN "smbpipe")
// with its key, as etcdctl's --cacert, --cert and --key take them.
type TLSFiles struct {
	CACert, Cert, Key string
}

// StartTLS is Start with TLS on the client port: the member's
// certificate (for 127.0.0.1) and a client certificate are signed by a
// CA made for the test, and the member requires a client certificate
// from that CA.
func StartTLS(t testing.TB) (*Etcd, TLSFiles) {
	t.Helper()
	testbin.Need(t, etcdPath)
	dir := t.TempDir()
	caKey, caCert := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", caKey, caCert)
	newCert(t, dir, "client", caKey, caCert)
	files := TLSFiles{
		CACert: filepath.Join(dir, "ca.pem"),
		Cert:   filepath.Join(dir, "client.pem"),
		Key:    filepath.Join(dir, "client-key.pem"),
	}
	e := start(t, &files, dir, nil)
	return e, files
}

// newCert writes NAME.pem and NAME-key.pem in dir: a CA when parent is
// nil, else a certificate signed by it (server: for 127.0.0.1; client: CN
// smbpipe, client authentication).
func newCert(t testing.TB, dir, name string, parentKey *ecdsa.PrivateKey, parent *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "smbpipe"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	switch {
	case parent == nil:
		tmpl.Subject.CommonName = "smbpipe test CA"
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	case name == "server":
		tmpl.Subject.CommonName = "127.0.0.1"
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// httpsClient is the health check's client for a TLS member.
func httpsClient(f *TLSFiles) (*tls.Config, error) {
	ca, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}, nil
}
