#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import SwiftASN1
import X509

/// A local development CA and a server certificate signed by it, for `gateway certs dev` and for
/// `gateway serve` when the configured certificate files are absent.
public enum DevelopmentCA {
    public struct Written: Sendable {
        public var caCertificate: String
        public var caKey: String
        public var certificate: String
        public var key: String
    }

    /// Writes `ca.crt`/`ca.key` beside `certificatePath`, and the server certificate (chain:
    /// server then CA) and key at the configured paths. Keys are written with mode 0600.
    /// An existing CA in that folder is reused, so a trusted CA stays trusted.
    public static func write(certificatePath: String, keyPath: String,
                             hostnames: [String] = ["localhost"],
                             ipAddresses: [String] = ["127.0.0.1", "::1"]) throws -> Written {
        let folder = (certificatePath as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let keyFolder = (keyPath as NSString).deletingLastPathComponent
        if !keyFolder.isEmpty {
            try FileManager.default.createDirectory(atPath: keyFolder, withIntermediateDirectories: true)
        }
        let caCertPath = (directory as NSString).appendingPathComponent("dev-ca.crt")
        let caKeyPath = (directory as NSString).appendingPathComponent("dev-ca.key")

        let now = Date()
        let caKey: P256.Signing.PrivateKey
        let caCertificate: Certificate
        if let keyPEM = try? String(contentsOfFile: caKeyPath, encoding: .utf8),
           let certPEM = try? String(contentsOfFile: caCertPath, encoding: .utf8),
           let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
           let cert = try? Certificate(pemEncoded: certPEM), cert.notValidAfter > now.addingTimeInterval(86_400) {
            caKey = key
            caCertificate = cert
        } else {
            caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName {
                CommonName("gateway development CA")
                OrganizationName("gateway (local development only)")
            }
            caCertificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(5 * 365 * 86_400),
                issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(caKey.publicKey))
                },
                issuerPrivateKey: .init(caKey))
            try writeFile(caKeyPath, caKey.pemRepresentation, secret: true)
            try writeFile(caCertPath, try caCertificate.serializeAsPEM().pemString, secret: false)
        }

        let serverKey = P256.Signing.PrivateKey()
        var names: [GeneralName] = hostnames.map { .dnsName($0) }
        for ip in ipAddresses {
            if let bytes = ipBytes(ip) { names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
        }
        let serverCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            // 365 days in all, the hour of clock skew before now included.
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400 - 3600),
            issuer: caCertificate.subject,
            subject: try DistinguishedName { CommonName(hostnames.first ?? "localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        let chain = try serverCertificate.serializeAsPEM().pemString + "\n" + caCertificate.serializeAsPEM().pemString + "\n"
        try writeFile(keyPath, serverKey.pemRepresentation, secret: true)
        try writeFile(certificatePath, chain, secret: false)
        return Written(caCertificate: caCertPath, caKey: caKeyPath, certificate: certificatePath, key: keyPath)
    }

    private static func writeFile(_ path: String, _ text: String, secret: Bool) throws {
        let attributes: [FileAttributeKey: Any]? = secret ? [.posixPermissions: 0o600] : nil
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: attributes) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    private static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
