package app

import "testing"

// The generated certificate is a self-signed leaf (not a CA): it must count as self-signed, or
// provisioning commands and `mipo serve` lose the pin scanners trust it by.
func TestGeneratedCertificateIsSelfSignedWithAPin(t *testing.T) {
	cert, err := EnsureCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !SelfSigned(cert) {
		t.Fatal("the generated certificate does not count as self-signed")
	}
	if pin, err := CertificatePin(cert); err != nil || len(pin) != len("sha256//")+44 {
		t.Fatalf("pin %q %v", pin, err)
	}
}
