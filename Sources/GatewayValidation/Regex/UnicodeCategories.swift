/// Unicode general categories and binary properties for `\p{...}`, from the standard library's
/// Unicode data.
enum UnicodeCategories {
    static let all: [(short: String, long: String, category: Unicode.GeneralCategory)] = [
        ("Lu", "Uppercase_Letter", .uppercaseLetter), ("Ll", "Lowercase_Letter", .lowercaseLetter),
        ("Lt", "Titlecase_Letter", .titlecaseLetter), ("Lm", "Modifier_Letter", .modifierLetter),
        ("Lo", "Other_Letter", .otherLetter), ("Mn", "Nonspacing_Mark", .nonspacingMark),
        ("Mc", "Spacing_Mark", .spacingMark), ("Me", "Enclosing_Mark", .enclosingMark),
        ("Nd", "Decimal_Number", .decimalNumber), ("Nl", "Letter_Number", .letterNumber),
        ("No", "Other_Number", .otherNumber), ("Pc", "Connector_Punctuation", .connectorPunctuation),
        ("Pd", "Dash_Punctuation", .dashPunctuation), ("Ps", "Open_Punctuation", .openPunctuation),
        ("Pe", "Close_Punctuation", .closePunctuation), ("Pi", "Initial_Punctuation", .initialPunctuation),
        ("Pf", "Final_Punctuation", .finalPunctuation), ("Po", "Other_Punctuation", .otherPunctuation),
        ("Sm", "Math_Symbol", .mathSymbol), ("Sc", "Currency_Symbol", .currencySymbol),
        ("Sk", "Modifier_Symbol", .modifierSymbol), ("So", "Other_Symbol", .otherSymbol),
        ("Zs", "Space_Separator", .spaceSeparator), ("Zl", "Line_Separator", .lineSeparator),
        ("Zp", "Paragraph_Separator", .paragraphSeparator), ("Cc", "Control", .control),
        ("Cf", "Format", .format), ("Cs", "Surrogate", .surrogate), ("Co", "Private_Use", .privateUse),
        ("Cn", "Unassigned", .unassigned),
    ]

    /// Group names and the extra aliases of PropertyValueAliases.txt.
    static let groups: [String: String] = [
        "L": "Lu Ll Lt Lm Lo", "Letter": "Lu Ll Lt Lm Lo", "LC": "Lu Ll Lt", "Cased_Letter": "Lu Ll Lt",
        "M": "Mn Mc Me", "Mark": "Mn Mc Me", "Combining_Mark": "Mn Mc Me",
        "N": "Nd Nl No", "Number": "Nd Nl No", "digit": "Nd",
        "P": "Pc Pd Ps Pe Pi Pf Po", "Punctuation": "Pc Pd Ps Pe Pi Pf Po", "punct": "Pc Pd Ps Pe Pi Pf Po",
        "S": "Sm Sc Sk So", "Symbol": "Sm Sc Sk So", "Z": "Zs Zl Zp", "Separator": "Zs Zl Zp",
        "C": "Cc Cf Cs Co Cn", "Other": "Cc Cf Cs Co Cn", "cntrl": "Cc",
    ]

    /// The category bits named by `name` (short, long or alias), or nil.
    static func mask(named name: String) -> UInt32? {
        if let index = all.firstIndex(where: { $0.short == name || $0.long == name }) { return 1 << UInt32(index) }
        guard let members = groups[name] else { return nil }
        var mask: UInt32 = 0
        for short in members.split(separator: " ") {
            if let index = all.firstIndex(where: { $0.short == short }) { mask |= 1 << UInt32(index) }
        }
        return mask
    }

    static func bit(of c: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(c) else { return mask(named: "Cs")! }
        return bits[scalar.properties.generalCategory] ?? 0
    }

    private static let bits: [Unicode.GeneralCategory: UInt32] = Dictionary(
        uniqueKeysWithValues: all.enumerated().map { ($0.element.category, UInt32(1) << UInt32($0.offset)) })
}

/// The binary Unicode properties `\p{...}` supports besides general categories.
enum BinaryProperty: String, Sendable, CaseIterable {
    case any = "Any", ascii = "ASCII", assigned = "Assigned", alphabetic = "Alphabetic", whiteSpace = "White_Space"
    case uppercase = "Uppercase", lowercase = "Lowercase", hexDigit = "Hex_Digit", asciiHexDigit = "ASCII_Hex_Digit"
    case emoji = "Emoji", math = "Math", dash = "Dash", ideographic = "Ideographic"

    static let aliases: [String: BinaryProperty] = [
        "Alpha": .alphabetic, "space": .whiteSpace, "WSpace": .whiteSpace, "Upper": .uppercase, "Lower": .lowercase,
        "Hex": .hexDigit, "AHex": .asciiHexDigit, "Ideo": .ideographic,
    ]

    init?(name: String) {
        if let value = BinaryProperty(rawValue: name) ?? Self.aliases[name] { self = value } else { return nil }
    }

    func contains(_ c: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(c) else { return self == .any }
        let p = scalar.properties
        switch self {
        case .any: return true
        case .ascii: return c < 0x80
        case .assigned: return p.generalCategory != .unassigned
        case .alphabetic: return p.isAlphabetic
        case .whiteSpace: return p.isWhitespace
        case .uppercase: return p.isUppercase
        case .lowercase: return p.isLowercase
        case .hexDigit: return p.isHexDigit
        case .asciiHexDigit: return p.isASCIIHexDigit
        case .emoji: return p.isEmoji
        case .math: return p.isMath
        case .dash: return p.isDash
        case .ideographic: return p.isIdeographic
        }
    }
}
