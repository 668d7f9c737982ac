// JUnit XML for the device suites only: jest-junit fed with the results of
// the `device` project, so a run of both projects writes device.xml with the
// device suites alone and a unit-only run leaves it untouched. A suite that
// fails to load (no device, a bad setting) is reported as an error case, not
// dropped: a suite that did not run must never read as a pass.
const { existsSync, renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const JestJUnit = require('jest-junit');
const junitOptions = require('jest-junit/utils/getOptions');

const PROJECT = 'device';

function projectOf(result) {
  const name = result.displayName;
  return typeof name === 'object' && name !== null ? name.name : name;
}

class DeviceJUnitReporter {
  constructor(globalConfig, options = {}) {
    this.options = {
      outputDirectory: '<rootDir>/reports/out/junit',
      outputName: 'device.xml',
      suiteName: 'zlab device suites',
      // One <testsuite> per file; a case's classname is its describe path
      // (device serial or skip reason included), its name the test's title.
      suiteNameTemplate: '{filepath}',
      classNameTemplate: '{classname}',
      titleTemplate: '{title}',
      reportTestSuiteErrors: 'true',
      addFileAttribute: 'true',
      ...options,
    };
    // Where jest-junit will write, JEST_JUNIT_* environment overrides included.
    const effective = junitOptions.options(this.options);
    this.outputFile = effective.outputFile
      ? junitOptions.replaceRootDirInOutput(globalConfig.rootDir, effective.outputFile)
      : join(junitOptions.replaceRootDirInOutput(globalConfig.rootDir, effective.outputDirectory), effective.outputName);
    // jest-junit writes in place; it writes a file of its own here that is
    // then renamed, so readers (and a second run finishing at the same
    // time) never see half a document. JEST_JUNIT_OUTPUT_FILE, when set,
    // wins over this and is written in place.
    this.tempFile = `${this.outputFile}.${process.pid}.tmp`;
    this.inner = new JestJUnit(globalConfig, { ...this.options, outputFile: this.tempFile });
    // Files the device project started: a file that failed to load comes
    // back without its project's name, and must still be reported.
    this.deviceFiles = new Set();
  }

  isDevice(result) {
    return projectOf(result) === PROJECT || this.deviceFiles.has(result.testFilePath);
  }

  onTestFileStart(test) {
    // The first device suite of a run removes the previous run's file, so a
    // run that dies half-way cannot leave old results looking current.
    if (test.context.config.displayName?.name !== PROJECT) return;
    if (this.deviceFiles.size === 0) rmSync(this.outputFile, { force: true });
    this.deviceFiles.add(test.path);
  }

  onTestResult(test, testResult, aggregated) {
    if (this.isDevice(testResult)) this.inner.onTestResult(test, testResult, aggregated);
  }

  async onRunComplete(contexts, results) {
    const device = results.testResults.filter((r) => this.isDevice(r));
    if (device.length === 0) return;
    await this.inner.onRunComplete(contexts, { ...results, testResults: device });
    if (existsSync(this.tempFile)) renameSync(this.tempFile, this.outputFile);
  }
}

module.exports = DeviceJUnitReporter;
