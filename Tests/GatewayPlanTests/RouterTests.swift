import GatewayPlan
import Testing

@Suite struct RouterTests {
    func router(_ routes: [(String?, String)]) throws -> Router {
        var r = Router()
        for (i, (method, path)) in routes.enumerated() {
            try r.add(PathTemplate(path), method: method, operation: i)
        }
        return r
    }

    @Test func literalBeatsParameterBeatsGreedy() throws {
        let r = try router([("GET", "/a/{proxy+}"), ("GET", "/a/{id}"), ("GET", "/a/b")])
        #expect(r.match(method: "GET", path: "/a/b") == .operation(2, parameters: []))
        #expect(r.match(method: "GET", path: "/a/c") == .operation(1, parameters: ["c"]))
        #expect(r.match(method: "GET", path: "/a/c/d/e") == .operation(0, parameters: ["c/d/e"]))
    }

    @Test func backtracksWhenTheLiteralBranchFailsDeeper() throws {
        let r = try router([("GET", "/a/b/c"), ("GET", "/a/{x}/d")])
        #expect(r.match(method: "GET", path: "/a/b/d") == .operation(1, parameters: ["b"]))
        #expect(r.match(method: "GET", path: "/a/b/c") == .operation(0, parameters: []))
    }

    @Test func methodMismatchGives405WithAllow() throws {
        let r = try router([("GET", "/flights"), ("POST", "/flights"), ("GET", "/other")])
        #expect(r.match(method: "DELETE", path: "/flights") == .methodNotAllowed(allow: ["GET", "HEAD", "POST"]))
        #expect(r.match(method: "GET", path: "/nothing") == .notFound)
    }

    @Test func methodFallsThroughToALessSpecificTemplate() throws {
        let r = try router([("GET", "/a/b"), ("POST", "/a/{x}")])
        #expect(r.match(method: "POST", path: "/a/b") == .operation(1, parameters: ["b"]))
    }

    @Test func anyMethodMatchesMethodsThePathItemDoesNotList() throws {
        let r = try router([("GET", "/things"), (nil, "/things")])
        #expect(r.match(method: "GET", path: "/things") == .operation(0, parameters: []))
        #expect(r.match(method: "PATCH", path: "/things") == .operation(1, parameters: []))
    }

    @Test func headUsesGetAndTrailingSlashIsIgnored() throws {
        let r = try router([("GET", "/x/{id}")])
        #expect(r.match(method: "HEAD", path: "/x/1") == .operation(0, parameters: ["1"]))
        #expect(r.match(method: "GET", path: "/x/1/") == .operation(0, parameters: ["1"]))
    }

    @Test func parametersAreKeptAsSentAndLiteralsMatchDecoded() throws {
        let r = try router([("GET", "/files/{name}"), ("GET", "/a b")])
        #expect(r.match(method: "GET", path: "/files/x%2Fy") == .operation(0, parameters: ["x%2Fy"]))
        #expect(r.match(method: "GET", path: "/a%20b") == .operation(1, parameters: []))
    }

    @Test func greedyNeedsAtLeastOneSegmentAndEmptySegmentsDoNotBindParameters() throws {
        let r = try router([("GET", "/p/{rest+}"), ("GET", "/q/{id}/z")])
        #expect(r.match(method: "GET", path: "/p") == .notFound)
        #expect(r.match(method: "GET", path: "/q//z") == .notFound)
    }

    @Test func onlyOneEmptySegmentGoesAtEachEndAndTheRootIsNoSegment() throws {
        let r = try router([("GET", "/"), ("GET", "/a/{x}/{y}"), ("GET", "/a/{rest+}"), ("GET", "/b")])
        #expect(r.match(method: "GET", path: "/") == .operation(0, parameters: []))
        #expect(r.match(method: "GET", path: "") == .operation(0, parameters: []))
        #expect(r.match(method: "GET", path: "/a/1/2") == .operation(1, parameters: ["1", "2"]))
        // A doubled slash keeps an empty segment: it binds no parameter, but a greedy one takes it.
        #expect(r.match(method: "GET", path: "/a//2") == .operation(2, parameters: ["/2"]))
        #expect(r.match(method: "GET", path: "/a/1//") == .operation(2, parameters: ["1/"]))
        #expect(r.match(method: "GET", path: "//a/1/2") == .notFound)
        #expect(r.match(method: "GET", path: "b/") == .operation(3, parameters: []))
    }

    @Test func aNodeWithManyLiteralsFindsEachAsSentOrDecoded() throws {
        // More literals than a node compares one by one: they are looked up by text.
        let names = (0..<12).map { "r\($0)" } + ["a b", "ümlaut"]
        let r = try router(names.map { ("GET", "/\($0)/{id}") } + [("GET", "/{other}/x")])
        for (i, name) in names.enumerated() where !name.contains(" ") && !name.contains("ü") {
            #expect(r.match(method: "GET", path: "/\(name)/7") == .operation(i, parameters: ["7"]))
        }
        #expect(r.match(method: "GET", path: "/a%20b/7") == .operation(12, parameters: ["7"]))
        #expect(r.match(method: "GET", path: "/%C3%BCmlaut/7") == .operation(13, parameters: ["7"]))
        #expect(r.match(method: "GET", path: "/ümlaut/7") == .operation(13, parameters: ["7"]))
        #expect(r.match(method: "GET", path: "/r1/7/x") == .notFound)
        #expect(r.match(method: "GET", path: "/r12/x") == .operation(14, parameters: ["r12"]))
        // An invalid escape matches no literal, but binds a parameter as sent.
        #expect(r.match(method: "GET", path: "/r%2/x") == .operation(14, parameters: ["r%2"]))
    }

    @Test func aFewLiteralsAreComparedAsSentAndDecodedWhenEscaped() throws {
        let r = try router([("GET", "/ab"), ("GET", "/abc"), ("POST", "/a"), ("GET", "/{x}")])
        #expect(r.match(method: "GET", path: "/abc") == .operation(1, parameters: []))
        #expect(r.match(method: "GET", path: "/ab") == .operation(0, parameters: []))
        #expect(r.match(method: "GET", path: "/%61b") == .operation(0, parameters: []))
        #expect(r.match(method: "GET", path: "/abd") == .operation(3, parameters: ["abd"]))
        // The literal's node has no GET: the search backtracks to the parameter.
        #expect(r.match(method: "GET", path: "/a") == .operation(3, parameters: ["a"]))
        #expect(r.match(method: "DELETE", path: "/a") == .methodNotAllowed(allow: ["GET", "HEAD", "POST"]))
    }

    @Test func sameShapeSameMethodConflicts() throws {
        var r = Router()
        try r.add(PathTemplate("/a/{x}"), method: "GET", operation: 0)
        #expect(throws: Router.Conflict.self) { try r.add(PathTemplate("/a/{y}"), method: "GET", operation: 1) }
        try r.add(PathTemplate("/a/{y}"), method: "POST", operation: 2)
    }

    @Test func badTemplatesAreRejected() {
        #expect(throws: PathTemplate.ParseError.self) { try PathTemplate("/a/{rest+}/b") }
        #expect(throws: PathTemplate.ParseError.self) { try PathTemplate("/files/{name}.json") }
        #expect(throws: PathTemplate.ParseError.self) { try PathTemplate("no-slash") }
    }
}
