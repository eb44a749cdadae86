# language: nl
# Gegenereerd door scripts/make_features.py uit fixtures/scenarios/dva/*.json: niet met de hand bewerken.
@dva @mp9
Functionaliteit: de DVA levert MP9 3.0-medicatiegegevens
  Een PGO vraagt namens een testpatiënt medicatiegegevens op bij de te keuren DVA, in JSON en in XML;
  de straat keurt elk antwoord met dezelfde checks als de pytest-suite (suites/dva).

  Abstract Scenario: <scenario>[<formaat>] — <titel>
    Gegeven de straat met de te keuren DVA
    Als de PGO scenario "<scenario>" in <formaat> uitvoert
    Dan keurt de straat het goed

    @MA
    Voorbeelden: MA
      | scenario | formaat | titel                                                                                                                                                                                             |
      | MA-0.1   | json    | MA 0.1: medication agreements of the filter patient, category only (no filter: all six agreements of the patient)                                                                                 |
      | MA-0.1   | xml     | MA 0.1: medication agreements of the filter patient, category only (no filter: all six agreements of the patient)                                                                                 |
      | MA-0.2   | json    | MA 0.2: medication agreements of the filter patient, identifier=urn:oid:2.999.7731.1.33633005\|MA-0002 (identifier match)                                                                         |
      | MA-0.2   | xml     | MA 0.2: medication agreements of the filter patient, identifier=urn:oid:2.999.7731.1.33633005\|MA-0002 (identifier match)                                                                         |
      | MA-0.3   | json    | MA 0.3: medication agreements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|118427 (PRK of metformine: old and current agreement)                                    |
      | MA-0.3   | xml     | MA 0.3: medication agreements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|118427 (PRK of metformine: old and current agreement)                                    |
      | MA-0.4   | json    | MA 0.4: medication agreements of the filter patient, period-of-use=ge${DATE, T, D, -7} (end >= T-7: open ends and future; amoxicilline (derived end T-33) and old metformine (end T-61) excluded) |
      | MA-0.4   | xml     | MA 0.4: medication agreements of the filter patient, period-of-use=ge${DATE, T, D, -7} (end >= T-7: open ends and future; amoxicilline (derived end T-33) and old metformine (end T-61) excluded) |
      | MA-0.5   | json    | MA 0.5: medication agreements of the filter patient, period-of-use=lt${DATE, T, D, -7} (start < T-7: omeprazol starts T+30 (end - duration))                                                      |
      | MA-0.5   | xml     | MA 0.5: medication agreements of the filter patient, period-of-use=lt${DATE, T, D, -7} (start < T-7: omeprazol starts T+30 (end - duration))                                                      |
      | MA-0.6   | json    | MA 0.6: medication agreements of the filter patient, period-of-use=ge${DATE, T, D, -50}&period-of-use=le${DATE, T, D, -35} (range T-50..T-35 overlaps)                                            |
      | MA-0.6   | xml     | MA 0.6: medication agreements of the filter patient, period-of-use=ge${DATE, T, D, -50}&period-of-use=le${DATE, T, D, -35} (range T-50..T-35 overlaps)                                            |
      | MA-0.7   | json    | MA 0.7: medication agreements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine)                                                     |
      | MA-0.7   | xml     | MA 0.7: medication agreements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine)                                                     |
      | MA-1     | json    | MA 1: the medication agreements of vs-patient-brouwer (all 1 of them)                                                                                                                             |
      | MA-1     | xml     | MA 1: the medication agreements of vs-patient-brouwer (all 1 of them)                                                                                                                             |
      | MA-2     | json    | MA 2: the medication agreements of vs-patient-yilmaz (all 1 of them)                                                                                                                              |
      | MA-2     | xml     | MA 2: the medication agreements of vs-patient-yilmaz (all 1 of them)                                                                                                                              |
      | MA-3     | json    | MA 3: the medication agreements of vs-patient-hendriks (all 6 of them)                                                                                                                            |
      | MA-3     | xml     | MA 3: the medication agreements of vs-patient-hendriks (all 6 of them)                                                                                                                            |
      | MA-4     | json    | MA 4: the medication agreements of vs-patient-van-dam (all 2 of them)                                                                                                                             |
      | MA-4     | xml     | MA 4: the medication agreements of vs-patient-van-dam (all 2 of them)                                                                                                                             |
      | MA-5     | json    | MA 5: the medication agreements of vs-patient-kramer (all 1 of them)                                                                                                                              |
      | MA-5     | xml     | MA 5: the medication agreements of vs-patient-kramer (all 1 of them)                                                                                                                              |
      | MA-6     | json    | MA 6: the medication agreements of vs-patient-el-amrani (all 2 of them)                                                                                                                           |
      | MA-6     | xml     | MA 6: the medication agreements of vs-patient-el-amrani (all 2 of them)                                                                                                                           |
      | MA-7     | json    | MA 7: the medication agreements of vs-patient-visser (all 6 of them)                                                                                                                              |
      | MA-7     | xml     | MA 7: the medication agreements of vs-patient-visser (all 6 of them)                                                                                                                              |
      | MA-8     | json    | MA 8: the medication agreements of vs-patient-peeters (none: the patient has no data at all)                                                                                                      |
      | MA-8     | xml     | MA 8: the medication agreements of vs-patient-peeters (none: the patient has no data at all)                                                                                                      |
      | MA-9     | json    | MA 9: the medication agreements of vs-patient-van-leeuwen (none: the patient has no data of this block)                                                                                           |
      | MA-9     | xml     | MA 9: the medication agreements of vs-patient-van-leeuwen (none: the patient has no data of this block)                                                                                           |
      | MA-10    | json    | MA 10: the medication agreements of vs-patient-verhoeven (all 6 of them)                                                                                                                          |
      | MA-10    | xml     | MA 10: the medication agreements of vs-patient-verhoeven (all 6 of them)                                                                                                                          |

    @VV
    Voorbeelden: VV
      | scenario | formaat | titel                                                                                                                                     |
      | VV-0.1   | json    | VV 0.1: dispense requests of the filter patient, category only (no filter)                                                                |
      | VV-0.1   | xml     | VV 0.1: dispense requests of the filter patient, category only (no filter)                                                                |
      | VV-0.2   | json    | VV 0.2: dispense requests of the filter patient, identifier=urn:oid:2.999.7731.1.52711000146108\|VV-0002 (identifier match)               |
      | VV-0.2   | xml     | VV 0.2: dispense requests of the filter patient, identifier=urn:oid:2.999.7731.1.52711000146108\|VV-0002 (identifier match)               |
      | VV-0.3   | json    | VV 0.3: dispense requests of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|146323 (PRK simvastatine)            |
      | VV-0.3   | xml     | VV 0.3: dispense requests of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|146323 (PRK simvastatine)            |
      | VV-0.4   | json    | VV 0.4: dispense requests of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine) |
      | VV-0.4   | xml     | VV 0.4: dispense requests of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine) |
      | VV-1     | json    | VV 1: the dispense requests of vs-patient-brouwer (all 1 of them)                                                                         |
      | VV-1     | xml     | VV 1: the dispense requests of vs-patient-brouwer (all 1 of them)                                                                         |
      | VV-2     | json    | VV 2: the dispense requests of vs-patient-van-dam (all 1 of them)                                                                         |
      | VV-2     | xml     | VV 2: the dispense requests of vs-patient-van-dam (all 1 of them)                                                                         |
      | VV-3     | json    | VV 3: the dispense requests of vs-patient-el-amrani (all 1 of them)                                                                       |
      | VV-3     | xml     | VV 3: the dispense requests of vs-patient-el-amrani (all 1 of them)                                                                       |
      | VV-4     | json    | VV 4: the dispense requests of vs-patient-peeters (none: the patient has no data at all)                                                  |
      | VV-4     | xml     | VV 4: the dispense requests of vs-patient-peeters (none: the patient has no data at all)                                                  |
      | VV-5     | json    | VV 5: the dispense requests of vs-patient-yilmaz (none: the patient has no data of this block)                                            |
      | VV-5     | xml     | VV 5: the dispense requests of vs-patient-yilmaz (none: the patient has no data of this block)                                            |
      | VV-6     | json    | VV 6: the dispense requests of vs-patient-hendriks (none: the patient has no data of this block)                                          |
      | VV-6     | xml     | VV 6: the dispense requests of vs-patient-hendriks (none: the patient has no data of this block)                                          |
      | VV-7     | json    | VV 7: the dispense requests of vs-patient-kramer (none: the patient has no data of this block)                                            |
      | VV-7     | xml     | VV 7: the dispense requests of vs-patient-kramer (none: the patient has no data of this block)                                            |
      | VV-8     | json    | VV 8: the dispense requests of vs-patient-visser (none: the patient has no data of this block)                                            |
      | VV-8     | xml     | VV 8: the dispense requests of vs-patient-visser (none: the patient has no data of this block)                                            |

    @WDS
    Voorbeelden: WDS
      | scenario | formaat | titel                                                                                                                                                    |
      | WDS-0.1  | json    | WDS 0.1: variable dosing regimens of the filter patient, category only (no filter)                                                                       |
      | WDS-0.1  | xml     | WDS 0.1: variable dosing regimens of the filter patient, category only (no filter)                                                                       |
      | WDS-0.2  | json    | WDS 0.2: variable dosing regimens of the filter patient, identifier=urn:oid:2.999.7731.1.395067002\|WDS-0002 (identifier match)                          |
      | WDS-0.2  | xml     | WDS 0.2: variable dosing regimens of the filter patient, identifier=urn:oid:2.999.7731.1.395067002\|WDS-0002 (identifier match)                          |
      | WDS-0.3  | json    | WDS 0.3: variable dosing regimens of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|108170 (PRK acenocoumarol)                  |
      | WDS-0.3  | xml     | WDS 0.3: variable dosing regimens of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|108170 (PRK acenocoumarol)                  |
      | WDS-0.4  | json    | WDS 0.4: variable dosing regimens of the filter patient, period-of-use=ge${DATE, T, D, +10} (regimen 2 ends T+12 (start T-30 + 42 d))                    |
      | WDS-0.4  | xml     | WDS 0.4: variable dosing regimens of the filter patient, period-of-use=ge${DATE, T, D, +10} (regimen 2 ends T+12 (start T-30 + 42 d))                    |
      | WDS-0.5  | json    | WDS 0.5: variable dosing regimens of the filter patient, period-of-use=lt${DATE, T, D, -33} (regimen 2 starts T-30)                                      |
      | WDS-0.5  | xml     | WDS 0.5: variable dosing regimens of the filter patient, period-of-use=lt${DATE, T, D, -33} (regimen 2 starts T-30)                                      |
      | WDS-0.6  | json    | WDS 0.6: variable dosing regimens of the filter patient, period-of-use=ge${DATE, T, D, -60}&period-of-use=le${DATE, T, D, -45} (range in regimen 1 only) |
      | WDS-0.6  | xml     | WDS 0.6: variable dosing regimens of the filter patient, period-of-use=ge${DATE, T, D, -60}&period-of-use=le${DATE, T, D, -45} (range in regimen 1 only) |
      | WDS-0.7  | json    | WDS 0.7: variable dosing regimens of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0005 (treatment acenocoumarol)     |
      | WDS-0.7  | xml     | WDS 0.7: variable dosing regimens of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0005 (treatment acenocoumarol)     |
      | WDS-1    | json    | WDS 1: the variable dosing regimens of vs-patient-brouwer (all 1 of them)                                                                                |
      | WDS-1    | xml     | WDS 1: the variable dosing regimens of vs-patient-brouwer (all 1 of them)                                                                                |
      | WDS-2    | json    | WDS 2: the variable dosing regimens of vs-patient-kramer (all 3 of them)                                                                                 |
      | WDS-2    | xml     | WDS 2: the variable dosing regimens of vs-patient-kramer (all 3 of them)                                                                                 |
      | WDS-3    | json    | WDS 3: the variable dosing regimens of vs-patient-peeters (none: the patient has no data at all)                                                         |
      | WDS-3    | xml     | WDS 3: the variable dosing regimens of vs-patient-peeters (none: the patient has no data at all)                                                         |

    @MGB
    Voorbeelden: MGB
      | scenario | formaat | titel                                                                                                                                                              |
      | MGB-0.1  | json    | MGB 0.1: medication use statements of the filter patient, category only (no filter)                                                                                |
      | MGB-0.1  | xml     | MGB 0.1: medication use statements of the filter patient, category only (no filter)                                                                                |
      | MGB-0.2  | json    | MGB 0.2: medication use statements of the filter patient, identifier=urn:oid:2.999.7731.1.422979000\|MGB-0003 (identifier match)                                   |
      | MGB-0.2  | xml     | MGB 0.2: medication use statements of the filter patient, identifier=urn:oid:2.999.7731.1.422979000\|MGB-0003 (identifier match)                                   |
      | MGB-0.3  | json    | MGB 0.3: medication use statements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|191981 (PRK paracetamol, carried by the HPK product) |
      | MGB-0.3  | xml     | MGB 0.3: medication use statements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|191981 (PRK paracetamol, carried by the HPK product) |
      | MGB-0.4  | json    | MGB 0.4: medication use statements of the filter patient, period-of-use=ge${DATE, T, D, -7} (open end; paracetamol ends T-3)                                       |
      | MGB-0.4  | xml     | MGB 0.4: medication use statements of the filter patient, period-of-use=ge${DATE, T, D, -7} (open end; paracetamol ends T-3)                                       |
      | MGB-0.5  | json    | MGB 0.5: medication use statements of the filter patient, period-of-use=lt${DATE, T, D, -15} (paracetamol starts T-13 (end T-3 - 10 d))                            |
      | MGB-0.5  | xml     | MGB 0.5: medication use statements of the filter patient, period-of-use=lt${DATE, T, D, -15} (paracetamol starts T-13 (end T-3 - 10 d))                            |
      | MGB-0.6  | json    | MGB 0.6: medication use statements of the filter patient, period-of-use=ge${DATE, T, D, -110}&period-of-use=le${DATE, T, D, -50} (range T-110..T-50)               |
      | MGB-0.6  | xml     | MGB 0.6: medication use statements of the filter patient, period-of-use=ge${DATE, T, D, -110}&period-of-use=le${DATE, T, D, -50} (range T-110..T-50)               |
      | MGB-0.7  | json    | MGB 0.7: medication use statements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0004 (treatment simvastatine)               |
      | MGB-0.7  | xml     | MGB 0.7: medication use statements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0004 (treatment simvastatine)               |
      | MGB-1    | json    | MGB 1: the medication use statements of vs-patient-brouwer (all 1 of them)                                                                                         |
      | MGB-1    | xml     | MGB 1: the medication use statements of vs-patient-brouwer (all 1 of them)                                                                                         |
      | MGB-2    | json    | MGB 2: the medication use statements of vs-patient-hendriks (all 1 of them)                                                                                        |
      | MGB-2    | xml     | MGB 2: the medication use statements of vs-patient-hendriks (all 1 of them)                                                                                        |
      | MGB-3    | json    | MGB 3: the medication use statements of vs-patient-visser (all 2 of them)                                                                                          |
      | MGB-3    | xml     | MGB 3: the medication use statements of vs-patient-visser (all 2 of them)                                                                                          |
      | MGB-4    | json    | MGB 4: the medication use statements of vs-patient-van-leeuwen (all 2 of them)                                                                                     |
      | MGB-4    | xml     | MGB 4: the medication use statements of vs-patient-van-leeuwen (all 2 of them)                                                                                     |
      | MGB-5    | json    | MGB 5: the medication use statements of vs-patient-peeters (none: the patient has no data at all)                                                                  |
      | MGB-5    | xml     | MGB 5: the medication use statements of vs-patient-peeters (none: the patient has no data at all)                                                                  |
      | MGB-6    | json    | MGB 6: the medication use statements of vs-patient-yilmaz (none: the patient has no data of this block)                                                            |
      | MGB-6    | xml     | MGB 6: the medication use statements of vs-patient-yilmaz (none: the patient has no data of this block)                                                            |

    @TA
    Voorbeelden: TA
      | scenario | formaat | titel                                                                                                                                                            |
      | TA-0.1   | json    | TA 0.1: administration agreements of the filter patient, category only (no filter)                                                                               |
      | TA-0.1   | xml     | TA 0.1: administration agreements of the filter patient, category only (no filter)                                                                               |
      | TA-0.2   | json    | TA 0.2: administration agreements of the filter patient, identifier=urn:oid:2.999.7731.1.422037009\|TA-0002 (identifier match)                                   |
      | TA-0.2   | xml     | TA 0.2: administration agreements of the filter patient, identifier=urn:oid:2.999.7731.1.422037009\|TA-0002 (identifier match)                                   |
      | TA-0.3   | json    | TA 0.3: administration agreements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|118427 (PRK metformine, carried by the HPK product) |
      | TA-0.3   | xml     | TA 0.3: administration agreements of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|118427 (PRK metformine, carried by the HPK product) |
      | TA-0.4   | json    | TA 0.4: administration agreements of the filter patient, period-of-use=ge${DATE, T, D, +27} (metformine ends T+30 (start T-60 + 90 d))                           |
      | TA-0.4   | xml     | TA 0.4: administration agreements of the filter patient, period-of-use=ge${DATE, T, D, +27} (metformine ends T+30 (start T-60 + 90 d))                           |
      | TA-0.5   | json    | TA 0.5: administration agreements of the filter patient, period-of-use=lt${DATE, T, D, -38} (amoxicilline starts T-40 (end T-33 - 7 d))                          |
      | TA-0.5   | xml     | TA 0.5: administration agreements of the filter patient, period-of-use=lt${DATE, T, D, -38} (amoxicilline starts T-40 (end T-33 - 7 d))                          |
      | TA-0.6   | json    | TA 0.6: administration agreements of the filter patient, period-of-use=ge${DATE, T, D, -36}&period-of-use=le${DATE, T, D, -20} (range T-36..T-20)                |
      | TA-0.6   | xml     | TA 0.6: administration agreements of the filter patient, period-of-use=ge${DATE, T, D, -36}&period-of-use=le${DATE, T, D, -20} (range T-36..T-20)                |
      | TA-0.7   | json    | TA 0.7: administration agreements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0002 (treatment amoxicilline)              |
      | TA-0.7   | xml     | TA 0.7: administration agreements of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0002 (treatment amoxicilline)              |
      | TA-1     | json    | TA 1: the administration agreements of vs-patient-brouwer (all 1 of them)                                                                                        |
      | TA-1     | xml     | TA 1: the administration agreements of vs-patient-brouwer (all 1 of them)                                                                                        |
      | TA-2     | json    | TA 2: the administration agreements of vs-patient-van-dam (all 1 of them)                                                                                        |
      | TA-2     | xml     | TA 2: the administration agreements of vs-patient-van-dam (all 1 of them)                                                                                        |
      | TA-3     | json    | TA 3: the administration agreements of vs-patient-visser (all 4 of them)                                                                                         |
      | TA-3     | xml     | TA 3: the administration agreements of vs-patient-visser (all 4 of them)                                                                                         |
      | TA-4     | json    | TA 4: the administration agreements of vs-patient-peeters (none: the patient has no data at all)                                                                 |
      | TA-4     | xml     | TA 4: the administration agreements of vs-patient-peeters (none: the patient has no data at all)                                                                 |
      | TA-5     | json    | TA 5: the administration agreements of vs-patient-yilmaz (none: the patient has no data of this block)                                                           |
      | TA-5     | xml     | TA 5: the administration agreements of vs-patient-yilmaz (none: the patient has no data of this block)                                                           |
      | TA-6     | json    | TA 6: the administration agreements of vs-patient-hendriks (none: the patient has no data of this block)                                                         |
      | TA-6     | xml     | TA 6: the administration agreements of vs-patient-hendriks (none: the patient has no data of this block)                                                         |
      | TA-7     | json    | TA 7: the administration agreements of vs-patient-kramer (none: the patient has no data of this block)                                                           |
      | TA-7     | xml     | TA 7: the administration agreements of vs-patient-kramer (none: the patient has no data of this block)                                                           |
      | TA-8     | json    | TA 8: the administration agreements of vs-patient-el-amrani (none: the patient has no data of this block)                                                        |
      | TA-8     | xml     | TA 8: the administration agreements of vs-patient-el-amrani (none: the patient has no data of this block)                                                        |

    @MVE
    Voorbeelden: MVE
      | scenario | formaat | titel                                                                                                                                           |
      | MVE-0.1  | json    | MVE 0.1: medication dispenses of the filter patient, category only (no filter)                                                                  |
      | MVE-0.1  | xml     | MVE 0.1: medication dispenses of the filter patient, category only (no filter)                                                                  |
      | MVE-0.2  | json    | MVE 0.2: medication dispenses of the filter patient, identifier=urn:oid:2.999.7731.1.373784005\|MVE-0004 (identifier match)                     |
      | MVE-0.2  | xml     | MVE 0.2: medication dispenses of the filter patient, identifier=urn:oid:2.999.7731.1.373784005\|MVE-0004 (identifier match)                     |
      | MVE-0.3  | json    | MVE 0.3: medication dispenses of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.7\|2203456 (HPK metformine Accord)         |
      | MVE-0.3  | xml     | MVE 0.3: medication dispenses of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.7\|2203456 (HPK metformine Accord)         |
      | MVE-0.4  | json    | MVE 0.4: medication dispenses of the filter patient, whenhandedover=ge${DATE, T, D, -10} (handed over T-5)                                      |
      | MVE-0.4  | xml     | MVE 0.4: medication dispenses of the filter patient, whenhandedover=ge${DATE, T, D, -10} (handed over T-5)                                      |
      | MVE-0.5  | json    | MVE 0.5: medication dispenses of the filter patient, whenhandedover=le${DATE, T, D, -100} (T-150)                                               |
      | MVE-0.5  | xml     | MVE 0.5: medication dispenses of the filter patient, whenhandedover=le${DATE, T, D, -100} (T-150)                                               |
      | MVE-0.6  | json    | MVE 0.6: medication dispenses of the filter patient, whenhandedover=ge${DATE, T, D, -60}&whenhandedover=le${DATE, T, D, -30} (range T-60..T-30) |
      | MVE-0.6  | xml     | MVE 0.6: medication dispenses of the filter patient, whenhandedover=ge${DATE, T, D, -60}&whenhandedover=le${DATE, T, D, -30} (range T-60..T-30) |
      | MVE-0.7  | json    | MVE 0.7: medication dispenses of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine)   |
      | MVE-0.7  | xml     | MVE 0.7: medication dispenses of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0001 (treatment metformine)   |
      | MVE-1    | json    | MVE 1: the medication dispenses of vs-patient-brouwer (all 1 of them)                                                                           |
      | MVE-1    | xml     | MVE 1: the medication dispenses of vs-patient-brouwer (all 1 of them)                                                                           |
      | MVE-2    | json    | MVE 2: the medication dispenses of vs-patient-kramer (all 1 of them)                                                                            |
      | MVE-2    | xml     | MVE 2: the medication dispenses of vs-patient-kramer (all 1 of them)                                                                            |
      | MVE-3    | json    | MVE 3: the medication dispenses of vs-patient-el-amrani (all 2 of them)                                                                         |
      | MVE-3    | xml     | MVE 3: the medication dispenses of vs-patient-el-amrani (all 2 of them)                                                                         |
      | MVE-4    | json    | MVE 4: the medication dispenses of vs-patient-visser (all 8 of them)                                                                            |
      | MVE-4    | xml     | MVE 4: the medication dispenses of vs-patient-visser (all 8 of them)                                                                            |
      | MVE-5    | json    | MVE 5: the medication dispenses of vs-patient-peeters (none: the patient has no data at all)                                                    |
      | MVE-5    | xml     | MVE 5: the medication dispenses of vs-patient-peeters (none: the patient has no data at all)                                                    |
      | MVE-6    | json    | MVE 6: the medication dispenses of vs-patient-yilmaz (none: the patient has no data of this block)                                              |
      | MVE-6    | xml     | MVE 6: the medication dispenses of vs-patient-yilmaz (none: the patient has no data of this block)                                              |
      | MVE-7    | json    | MVE 7: the medication dispenses of vs-patient-hendriks (none: the patient has no data of this block)                                            |
      | MVE-7    | xml     | MVE 7: the medication dispenses of vs-patient-hendriks (none: the patient has no data of this block)                                            |
      | MVE-8    | json    | MVE 8: the medication dispenses of vs-patient-van-dam (none: the patient has no data of this block)                                             |
      | MVE-8    | xml     | MVE 8: the medication dispenses of vs-patient-van-dam (none: the patient has no data of this block)                                             |

    @MTD
    Voorbeelden: MTD
      | scenario | formaat | titel                                                                                                                                                                |
      | MTD-0.1  | json    | MTD 0.1: medication administrations of the filter patient, category only (no filter)                                                                                 |
      | MTD-0.1  | xml     | MTD 0.1: medication administrations of the filter patient, category only (no filter)                                                                                 |
      | MTD-0.2  | json    | MTD 0.2: medication administrations of the filter patient, identifier=urn:oid:2.999.7731.1.18629005\|MTD-0002 (identifier match)                                     |
      | MTD-0.2  | xml     | MTD 0.2: medication administrations of the filter patient, identifier=urn:oid:2.999.7731.1.18629005\|MTD-0002 (identifier match)                                     |
      | MTD-0.3  | json    | MTD 0.3: medication administrations of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|201545 (PRK amoxicilline, carried by the HPK product) |
      | MTD-0.3  | xml     | MTD 0.3: medication administrations of the filter patient, medication.code=urn:oid:2.16.840.1.113883.2.4.4.10\|201545 (PRK amoxicilline, carried by the HPK product) |
      | MTD-0.4  | json    | MTD 0.4: medication administrations of the filter patient, effective-time=ge${DATE, T, D, -10} (T-2)                                                                 |
      | MTD-0.4  | xml     | MTD 0.4: medication administrations of the filter patient, effective-time=ge${DATE, T, D, -10} (T-2)                                                                 |
      | MTD-0.5  | json    | MTD 0.5: medication administrations of the filter patient, effective-time=le${DATE, T, D, -35} (T-39 and T-38)                                                       |
      | MTD-0.5  | xml     | MTD 0.5: medication administrations of the filter patient, effective-time=le${DATE, T, D, -35} (T-39 and T-38)                                                       |
      | MTD-0.6  | json    | MTD 0.6: medication administrations of the filter patient, effective-time=ge${DATE, T, D, -45}&effective-time=le${DATE, T, D, -36} (range T-45..T-36)                |
      | MTD-0.6  | xml     | MTD 0.6: medication administrations of the filter patient, effective-time=ge${DATE, T, D, -45}&effective-time=le${DATE, T, D, -36} (range T-45..T-36)                |
      | MTD-0.7  | json    | MTD 0.7: medication administrations of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0002 (treatment amoxicilline)                |
      | MTD-0.7  | xml     | MTD 0.7: medication administrations of the filter patient, pharmaceutical-treatment-identifier=urn:oid:2.999.7731.2\|PB-0002 (treatment amoxicilline)                |
      | MTD-1    | json    | MTD 1: the medication administrations of vs-patient-brouwer (all 1 of them)                                                                                          |
      | MTD-1    | xml     | MTD 1: the medication administrations of vs-patient-brouwer (all 1 of them)                                                                                          |
      | MTD-2    | json    | MTD 2: the medication administrations of vs-patient-kramer (all 3 of them)                                                                                           |
      | MTD-2    | xml     | MTD 2: the medication administrations of vs-patient-kramer (all 3 of them)                                                                                           |
      | MTD-3    | json    | MTD 3: the medication administrations of vs-patient-visser (all 4 of them)                                                                                           |
      | MTD-3    | xml     | MTD 3: the medication administrations of vs-patient-visser (all 4 of them)                                                                                           |
      | MTD-4    | json    | MTD 4: the medication administrations of vs-patient-peeters (none: the patient has no data at all)                                                                   |
      | MTD-4    | xml     | MTD 4: the medication administrations of vs-patient-peeters (none: the patient has no data at all)                                                                   |
      | MTD-5    | json    | MTD 5: the medication administrations of vs-patient-yilmaz (none: the patient has no data of this block)                                                             |
      | MTD-5    | xml     | MTD 5: the medication administrations of vs-patient-yilmaz (none: the patient has no data of this block)                                                             |
      | MTD-6    | json    | MTD 6: the medication administrations of vs-patient-hendriks (none: the patient has no data of this block)                                                           |
      | MTD-6    | xml     | MTD 6: the medication administrations of vs-patient-hendriks (none: the patient has no data of this block)                                                           |
