// An independent OpenID4VCI wallet (Sphereon's @sphereon/oid4vci-client) collecting an
// accredit offer: node oid4vci_client.mjs OFFER_URI KEY_JWK_FILE KID [TX_CODE]
// Prints {"credentials": [...]} on stdout; exits 1 with the error on stderr.
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { OpenID4VCIClient } from "@sphereon/oid4vci-client";

const [uri, keyFile, kid, txCode] = process.argv.slice(2);
const privateKey = createPrivateKey({ key: JSON.parse(readFileSync(keyFile, "utf8")), format: "jwk" });
const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

async function signCallback(args) {
  const input = `${b64url(args.header)}.${b64url(args.payload)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
}

try {
  const client = await OpenID4VCIClient.fromURI({ uri, kid, alg: "EdDSA", retrieveServerMetadata: true });
  await client.acquireAccessToken(txCode ? { pin: txCode } : {});
  const credentials = [];
  const offered = client.credentialOffer.credential_offer.credential_configuration_ids;
  for (const type of offered) {
    const definition =
      client.endpointMetadata.credentialIssuerMetadata.credential_configurations_supported[type].credential_definition;
    const response = await client.acquireCredentials({
      credentialTypes: definition.type,
      context: definition["@context"],
      format: "ldp_vc",
      kid,
      alg: "EdDSA",
      proofCallbacks: { signCallback },
    });
    credentials.push(response.credential ?? response.credentials?.[0]?.credential);
  }
  console.log(JSON.stringify({ version: client.version(), credentials }));
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
