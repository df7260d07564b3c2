import { help } from '../../lib/help';

export default help({
  path: '/tls',
  title: 'TLS certificate',
  group: 'Administration',
  summary: 'The certificate mipo serves: self-signed, uploaded, or issued and renewed by ACME (Let\'s Encrypt or any ACME CA).',
  about: [
    'mipo starts with a self-signed certificate so it is encrypted from day one. When the public address (FQDN, on the Settings page) changes, the self-signed certificate is re-signed for it on the same key, so its pin — and every scanner that trusts it — stays valid.',
    'Every change is audited and takes effect without a restart: new connections get the new certificate at once, connections already open finish on the old one.',
    'Scanners trust a self-signed server by its pin (the `sha256//…` value); provisioning commands carry the pin only while the certificate is self-signed. A scanner whose pin no longer matches still connects when its system roots (or `SSL_CERT_FILE`) trust the new certificate, so moving to a trusted certificate never strands a scanner.',
    'HSTS (Strict-Transport-Security) is sent only while a trusted certificate is served: with a self-signed one it would take away the browser\'s "continue anyway". TLS 1.2 is the minimum, with forward-secret AEAD cipher suites only.',
    'Events for alarms: `tls.certificate.expiring` (14 days before expiry), `tls.certificate.expired` (at expiry), `acme.renewal.failed` (each failed ACME attempt), and `tls.certificate.renewed` / `acme.renewal.succeeded`, which resolve those alarms.',
  ],
  scopes: [
    { scope: 'settings:view', allows: 'see the certificate, its history and the ACME attempts' },
    { scope: 'settings:write', allows: 'upload a certificate, go back to self-signed, configure ACME, read the stored DNS credentials (audited)' },
  ],
  fields: [
    { name: 'Subject, names, issuer', description: 'Who the certificate is for, the host names and addresses it covers, and who signed it.' },
    { name: 'Chain', description: 'The server certificate first, then each issuer the chain carries.' },
    { name: 'Expires', description: 'The end of the certificate\'s validity. ACME renews two thirds into the lifetime.' },
    { name: 'Fingerprint', description: 'SHA-256 of the server certificate.' },
    { name: 'Pin', description: 'SHA-256 of the public key, as `curl --pinnedpubkey` and mipo-scanner take it. Scanners use it only while the certificate is self-signed.' },
    { name: 'Source', description: '`self-signed`, `uploaded` or `acme`.' },
    { name: 'Certificate chain (PEM)', description: 'The server certificate first, then each intermediate. The root may be included.' },
    { name: 'Private key (PEM)', description: 'Unencrypted PKCS#8, PKCS#1 or EC key: RSA of 2048 bits or more, ECDSA P-256/P-384/P-521, or Ed25519. Stored encrypted.' },
    { name: 'ACME directory URL', description: 'For Let\'s Encrypt: `https://acme-v02.api.letsencrypt.org/directory` (staging: `https://acme-staging-v02.api.letsencrypt.org/directory`).' },
    { name: 'Challenge', description: '`http-01`: the CA fetches a token from this mipo on port 80 of the public FQDN. `dns-01`: mipo publishes a TXT record through Cloudflare, Route 53 or OVH; works for hosts the CA cannot reach.' },
    { name: 'Credentials', description: 'Cloudflare: `api_token` (Zone DNS edit). Route 53: `access_key_id`, `secret_access_key`, `region`, `hosted_zone_id`. OVH: `endpoint` (such as `ovh-eu`), `application_key`, `application_secret`, `consumer_key`. Stored encrypted; reading them back is audited.' },
  ],
  howto: [
    { title: 'Upload a certificate', steps: ['Set the public address on the Settings page first: the certificate must cover it.', 'Paste the chain and the key.', 'Press Upload. A refusal names the check that failed: key mismatch, chain order, missing intermediate, expiry, or names.'] },
    { title: 'Use Let\'s Encrypt', steps: ['Set the public address.', 'Fill in the ACME form, choose the challenge, and for DNS-01 the provider and its credentials.', 'Save, then press "Issue now". Each attempt is listed below with its result.'] },
    { title: 'Go back to self-signed', steps: ['Press "Use self-signed". The previous self-signed key is reused, so scanners that pinned it keep working.'] },
  ],
  gotchas: [
    'An uploaded certificate must cover the public FQDN; set the FQDN first.',
    'Scanners provisioned with a pin keep working after a switch to a trusted certificate only if their host trusts its CA. Re-provision scanners whose host does not.',
    'A failed ACME attempt is retried after 5 minutes, doubling to at most 12 hours; the certificate in use stays until a new one is issued.',
  ],
  api: ['GET /api/v1/tls', 'POST /api/v1/tls/certificate', 'POST /api/v1/tls/self-signed', 'PUT /api/v1/tls/acme', 'GET /api/v1/tls/acme/credentials', 'POST /api/v1/tls/acme/issue'],
});
