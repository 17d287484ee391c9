package units

import "testing"

func TestCredentialDropIn(t *testing.T) {
	got, err := CredentialDropIn("ldap-password", "/etc/mailpull/100%/ldap.cred")
	if err != nil {
		t.Fatal(err)
	}
	want := Header + "\n# Every run of a task reads the credential ldap-password from /etc/mailpull/100%/ldap.cred.\n" +
		"[Service]\nLoadCredentialEncrypted=ldap-password:/etc/mailpull/100%%/ldap.cred\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{"/etc/x\n[Service]\nExecStartPre=/bin/sh", "/etc/x\\", "/etc/\x00x"} {
		if out, err := CredentialDropIn("ldap-password", bad); err == nil {
			t.Errorf("%q accepted:\n%s", bad, out)
		}
	}
}
