# hedui message catalog · English
# Every message has a message of the same id in zh-CN.ftl, with the same
# arguments (a test checks).

## Verdicts

verdict-meets-criteria = meets the criteria
verdict-does-not-meet = does not meet the criteria
verdict-needs-review = needs review
verdict-incomplete = incomplete
verdict-unspecified = no verdict

verdict-meets-criteria-explained = Every required department answered, and under the policy applied nothing fails the criteria.
verdict-does-not-meet-explained = At least one rule fails the criteria; see the reasons below.
verdict-needs-review-explained = Something needs a home visit and a review before a decision; see the reasons and what to check below.
verdict-incomplete-explained = A required department did not answer, so no verdict can be given, and it must never count as meeting the criteria; re-check the departments that did not answer before deciding.
verdict-unspecified-explained = The record has no verdict this build knows; review it by hand.

## One rule's result

rule-result-meets = meets
rule-result-does-not-meet = does not meet
rule-result-needs-review = needs review
rule-result-incomplete = incomplete
rule-result-unspecified = unknown

## Department outcomes

outcome-ok = answered
outcome-no-record = no record
outcome-timeout = timed out
outcome-unavailable = unavailable
outcome-error = error
outcome-refused = refused
outcome-unspecified = unknown

## Departments

department-public-security = public security
department-natural-resources = natural resources
department-housing = housing and construction
department-tax = tax
department-market-supervision = market supervision
department-housing-fund = housing provident fund
department-pboc = People's Bank of China
department-hrss = human resources and social security
department-unknown = unknown department

## Rules

rule-income = income
rule-assets = financial assets
rule-vehicles = vehicles
rule-real-estate = real estate
rule-recent-purchase = recent purchase
rule-business = business
rule-flags = flags
rule-sources = sources
rule-residence = residence
rule-other = other rule

## Flags

flag-identity-mismatch = name does not match the ID number
flag-identity-not-found = ID number unknown to public security
flag-deceased-member = member recorded as deceased
flag-departments-disagree = departments disagree
flag-recent-acquisition = vehicle or property acquired in the window
flag-unspecified = other flag

flag-advice-identity-mismatch = Check the member's ID card and household register in person, including former names and transliterations; if a registration is wrong, have it corrected and check again
flag-advice-identity-not-found = Check the ID card and household register in person: a mistyped number, or a cancelled or moved registration; correct it and check again
flag-advice-deceased-member = Check whether the member has died and still draws a pension, with the death certificate if needed; if so, remove the member and check again
flag-advice-departments-disagree = Go through each department's records (for example contributions, benefits or taxes after death, or differing name checks), look at the documents, ask why and note it
flag-advice-recent-acquisition = Check when and how the vehicle or property was acquired (bought, inherited, given), where the money came from and how it is used; look at the contract and the registration
flag-advice-unspecified = Check what the flag says on the home visit and note the result

## Reasons (the policy's rules)

reason-source-missing = required source { $dept } has no recorded outcome
reason-source-failed = required source { $dept } did not answer: outcome { $outcome }
reason-source-failed-detail = required source { $dept } did not answer: outcome { $outcome } ({ $source_detail })
reason-sources-all = all { $count } required sources answered: { $answered }
reason-residence-unset = the household's residence is not set; the lower standard of { $standard } yuan was applied
reason-income-below = per-capita monthly income { $income } yuan is below the { $which } standard of { $standard } yuan
reason-income-equal-accepted = per-capita monthly income { $income } yuan is equal to the { $which } standard of { $standard } yuan, which the policy accepts
reason-income-equal-refused = per-capita monthly income { $income } yuan is equal to the { $which } standard of { $standard } yuan; the policy requires it to be below
reason-income-above = per-capita monthly income { $income } yuan is above the { $which } standard of { $standard } yuan
reason-assets-within = financial assets per person { $assets } yuan are at most { $months } months of the { $which } standard ({ $limit } yuan)
reason-assets-exceed = financial assets per person { $assets } yuan exceed { $months } months of the { $which } standard ({ $limit } yuan)
reason-vehicles = the household has { $total } active non-exempt vehicle(s); the policy allows at most { $max }
reason-vehicles-by-type = the household has { $total } active non-exempt vehicle(s) ({ $by_type }); the policy allows at most { $max }
reason-vehicles-exempt = the household has { $total } active non-exempt vehicle(s); the policy allows at most { $max }; { $exempt } active vehicle(s) of an exempt type not counted
reason-vehicles-by-type-exempt = the household has { $total } active non-exempt vehicle(s) ({ $by_type }); the policy allows at most { $max }; { $exempt } active vehicle(s) of an exempt type not counted
reason-residential = the household holds { $count } residential properties or homesteads; the policy allows at most { $max }
reason-commercial = the household holds { $count } commercial or industrial properties; the policy allows at most { $max }
reason-recent = member { $member } has { $what } on { $date }, within { $months } months before the reference date { $ref_date } (on or after { $cutoff })
reason-recent-none = no purchase contract or counted property acquisition is dated within { $months } months before the reference date { $ref_date } (on or after { $cutoff })
reason-recent-none-undated = no purchase contract or counted property acquisition is dated within { $months } months before the reference date { $ref_date } (on or after { $cutoff }); { $undated } record(s) without a readable date could not be placed
reason-business-role = member { $member } is { $role } of an active { $entity }
reason-business-no-roles = the policy counts no business role
reason-business-none = no member holds a counted role ({ $roles }) in an active entity
reason-capital-above = subscribed capital in active entities { $capital } yuan is above the limit of { $limit } yuan
reason-capital-within = subscribed capital in active entities { $capital } yuan is at most the limit of { $limit } yuan
reason-flags-none-listed = the policy sends no flag kind to review
reason-flags-none = no flag of a kind that needs review ({ $kinds }) was raised
reason-untranslated = { $rule }: { $result } (see the record for details)

## What a flag says

flag-detail-identity-not-found = public security has no record of member { $member }'s ID number
flag-detail-deceased = public security records member { $member } as deceased on { $date }
flag-detail-name-mismatch = the name given for member { $member } does not match the ID number at { $depts }
flag-detail-name-disagree = departments disagree on whether member { $member }'s name matches the ID number
flag-detail-active-after-death = member { $member } is recorded as deceased on { $date }, but { $depts } show activity after that date
flag-detail-recent = { $dept } reports { $what } on { $date } for member { $member }, inside the income window
flag-detail-untranslated = see the record for details

## Notes on a department's outcome

source-no-answer = no answer within { $ms } ms
source-breaker-open = not asked: the department kept failing; it is tried again in { $secs } s
source-connection-failed = the connection failed
source-malformed = the reply was malformed and was discarded whole
source-stale = the department says its data is not up to date
source-not-configured = no adapter is configured for this department
source-note-ok = the department's data was obtained
source-note-no-record = the department answered and has no record of any member
source-note-timeout = no answer in time
source-note-unavailable = the department could not be reached
source-note-error = the department's answer was an error
source-note-refused = the department refused the query
source-note-unspecified = unknown outcome
source-note-missing = the record has no outcome for this department

## Words inside arguments

which-urban = urban
which-rural = rural
which-lower = lower

vehicle-car = car
vehicle-truck = truck
vehicle-motorcycle = motorcycle
vehicle-tricycle = tricycle
vehicle-agricultural = agricultural
vehicle-disability = disability
vehicle-unspecified = unspecified
vehicle-count = { $kind } { $count }

role-legal-representative = legal-representative
role-director = director
role-supervisor = supervisor
role-senior-manager = senior-manager
role-investor = investor
role-operator = operator
role-unspecified = unspecified

entity-company = company
entity-individual-business = individual business
entity-partnership = partnership
entity-cooperative = cooperative
entity-unspecified = entity of unspecified type

acquired-contract = a commercial-housing purchase contract signed
acquired-property-unspecified = a property of unknown use acquired
acquired-property-residential = a residential property acquired
acquired-property-commercial = a commercial property acquired
acquired-property-industrial = an industrial property acquired
acquired-property-homestead = a homestead acquired
acquired-vehicle = a vehicle registered
acquired-property = a property acquired
acquired-home-contract = a home purchase contract signed

list-separator = {", "}
answered-item = { $dept } { $outcome }

## Fields named in validation errors

field-member = member { $n }
field-signer = signer { $n }
field-household-ref = household number
field-residence = residence
field-members = members
field-name = name
field-id-number = ID number
field-relation = relation to the applicant
field-lacks-capacity = lacks legal capacity
field-purpose = purpose
field-form-number = authorization form number
field-signed-date = date signed
field-valid-until = valid until
field-scan-sha256 = scan SHA-256
field-signers = signers
field-on-behalf-of = signed on behalf of
field-from-month = first month of income
field-to-month = last month of income
field-asset-reference-date = asset reference date
field-quarter = quarter
field-joined = { $outer } · { $inner }
field-error = { $field }: { $message }

violation-check-char = check character should be { $expected }, found { $found }
violation-no-members = household has no members
violation-no-applicant = no member has relation applicant
violation-duplicate-id = duplicate ID number; same as member { $first }
violation-one-applicant = only one member may be the applicant; member { $first } already is
violation-required = is required
violation-required-as = is required
violation-choose = is required; choose one
violation-unknown-value = is not one of the accepted values
violation-no-signer = at least one signer is required
violation-uuid = must be a UUID
field-authorization-ref = authorization number
field-income-window = income window
field-note = note
field-outcome = review outcome
field-departments = departments to ask
field-record-id = record id
roster-differs-in-household = { $text } differs from { $other } in row { $row } of the same household; leave it blank or repeat the same value
roster-differs-for-guardian = { $text } differs from { $other } in row { $row } for the same guardian
roster-differs-from-member = { $text } differs from the name of the member in row { $row } with this guardian ID number
roster-not-a-date = { $text } is not a date; write it as 2026-11-02, 2026/11/2, 2026年11月2日 or 20261102
roster-no-month = { $text } is not a date: there is no month { $month }
roster-no-day = { $text } is not a date: { $ym } has no day { $day }
roster-year-range = { $text }: the year { $year } is out of range (1880 to 9999)
roster-not-residence = { $text } is not a residence; expected 城镇 or 农村 (urban or rural)
roster-not-yes-no = { $text } is not 是 or 否 (yes or no; Y/N and √ are read too)
roster-row = row { $row }
roster-row-column = row { $row }, column { $column }
roster-row-error = { $where }: { $message }
roster-not-relation = { $text } is not a relation
roster-required-for = is required
roster-required-because = is required
roster-blank-guardian = is given but { $column } is blank
violation-empty = must not be empty
